#!/usr/bin/env python3
"""Drive an interactive bash on a pseudo-terminal, as a user at a terminal
would: job control (^Z, fg, bg) and pipelines reading the terminal.

Usage: ptyjob.py STEP...   where each STEP is one of
  send:TEXT      type TEXT (Python escapes: \\n, \\x1a for ^Z, \\x03 for ^C)
  expect:REGEX   wait until the output after the last match matches
  wait:SECONDS   let time pass

Exits 0 when every expect matched, 1 (with the output so far on stderr)
when one did not within 10 seconds.  The shell is killed at the end.
"""
import os
import pty
import re
import select
import signal
import sys
import time


def main(steps):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["PS1"] = "$ "
        os.environ["TERM"] = "dumb"
        os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
    seen = b""
    log = b""

    def read_some(timeout):
        nonlocal seen, log
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        seen += data
        log += data

    try:
        for step in steps:
            kind, _, arg = step.partition(":")
            if kind == "send":
                os.write(fd, arg.encode().decode("unicode_escape").encode("latin-1"))
            elif kind == "wait":
                end = time.monotonic() + float(arg)
                while time.monotonic() < end:
                    read_some(end - time.monotonic())
            elif kind == "expect":
                end = time.monotonic() + 10
                while not (m := re.search(arg.encode(), seen)):
                    if time.monotonic() > end:
                        sys.stderr.write("no match for %r in:\n%s\n" % (arg, log.decode(errors="replace")))
                        return 1
                    read_some(end - time.monotonic())
                seen = seen[m.end():]
            else:
                sys.stderr.write("bad step %r\n" % step)
                return 2
        return 0
    finally:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
