#!/usr/bin/env python3
"""pty_run.py [PROMPT ANSWER]... -- CMD [ARGS...] - runs CMD on a new
terminal, as a person would: waits for each PROMPT to show, then types its
ANSWER and Enter. Prints everything the terminal showed (echoed keys
included: a secret typed at a prompt that echoes shows up here) and exits
with CMD's exit code; 124 when a prompt did not come within 10 s."""
import os
import pty
import select
import sys
import time


def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    pairs, cmd = argv[:sep], argv[sep + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    shown = b""

    def read(deadline):
        nonlocal shown
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return False
            try:
                data = os.read(fd, 4096)
            except OSError:  # EIO: the other side closed
                return True
            if not data:
                return True
            shown += data
            return None

    rc = 0
    seen = 0
    for i in range(0, len(pairs), 2):
        prompt, answer = pairs[i].encode(), pairs[i + 1].encode()
        deadline = time.monotonic() + 10
        while shown.find(prompt, seen) < 0:
            if read(deadline) is not None:
                break
        at = shown.find(prompt, seen)
        if at < 0:
            rc = 124
            break
        seen = at + len(prompt)
        os.write(fd, answer + b"\n")
    deadline = time.monotonic() + 30
    while read(deadline) is None:
        pass
    if rc == 124:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(shown.decode(errors="replace").replace("\r\n", "\n"))
    sys.exit(rc or os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
