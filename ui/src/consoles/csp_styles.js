// csp_styles.js - lets xterm.js style itself under vdcd's strict
// Content-Security-Policy (style-src 'self', no 'unsafe-inline').
//
// xterm.js 6 writes three <style> elements of its own (the cell size, the
// theme's colours, the scrollbar) and sets 24-bit colours with
// setAttribute('style', ...). The CSP refuses both (and logs an error for
// each), but not the CSS object model: a constructed CSSStyleSheet adopted
// by the document, or element.style, is not inline markup. So, once the
// console code loads:
//  - document.createElement('style') gives an inert element whose
//    textContent fills a constructed sheet adopted by the document (and
//    removing the element drops the sheet);
//  - setAttribute('style', s) sets element.style.cssText = s, which is what
//    the attribute would have meant.
// Nothing else on the page makes <style> elements or style attributes (the
// UI's own CSS is a file), so the two are changed for the whole document.
let installed = false;

function sheetElement(doc, create) {
  const el = create('vdc-style'); // unknown element: renders nothing
  el.hidden = true;
  const sheet = new CSSStyleSheet();
  let text = '';
  const adopt = () => { if (!doc.adoptedStyleSheets.includes(sheet)) doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet]; };
  const drop = () => { doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => s !== sheet); };
  Object.defineProperty(el, 'textContent', {
    get: () => text,
    set: (v) => { text = String(v ?? ''); sheet.replaceSync(text); adopt(); },
  });
  Object.defineProperty(el, 'sheet', { get: () => sheet });
  const remove = el.remove.bind(el);
  el.remove = () => { drop(); remove(); };
  adopt();
  return el;
}

export function installCspStyles(doc = document) {
  if (installed) return;
  installed = true;
  const create = doc.createElement.bind(doc);
  doc.createElement = (tag, opts) => (String(tag).toLowerCase() === 'style' ? sheetElement(doc, create) : create(tag, opts));
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === 'style' && this.style) { this.style.cssText = String(value); return; }
    return setAttribute.call(this, name, value);
  };
}
