// plot.js - uPlot behind one small function, in a chunk of its own: the
// charts pages import() it, so uPlot (about 50 KB) and its stylesheet (a
// file, as the CSP wants: no inline style) load only when a chart shows.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

// The series' colours; live.css gives the table's swatches the same ones.
export const COLORS = ['#1f5fbf', '#c2410c'];

// Draws `data` ([timestamps, ...values]) into `el`; returns
// { set(data), size(width), destroy() }. fmt(value) labels the y axis.
// dashed[i]: series i is dashed, so that a line on the one before it
// (demand equal to use) leaves that one showing through its gaps.
export function plot(el, { labels, fmt, width, height, dashed = [] }) {
  const fg = getComputedStyle(el).color || '#1b1f24';
  const axis = { stroke: fg, grid: { stroke: 'rgba(127,127,127,.25)', width: 1 }, ticks: { stroke: 'rgba(127,127,127,.4)', width: 1 } };
  const u = new uPlot({
    width,
    height,
    legend: { show: false }, // the page's table is the legend and the text alternative
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (self, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { ...axis },
      { ...axis, size: 84, values: (self, ticks) => ticks.map(fmt) },
    ],
    series: [{}].concat(labels.map((label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2, dash: dashed[i] ? [6, 6] : undefined, spanGaps: false, points: { show: false } }))),
  }, [[]].concat(labels.map(() => [])), el);
  return {
    set(data) { u.setData(data); },
    size(w) { if (w > 0 && Math.abs(w - u.width) > 1) u.setSize({ width: w, height }); },
    destroy() { u.destroy(); },
  };
}
