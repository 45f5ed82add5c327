#!/usr/bin/env python3
"""A real SMTP server on loopback for the tests (aiosmtpd): stores every message it accepts as
an .eml file (named in the order they arrived) and answers like a relay would for a few special recipients.

Usage: sink.py PORT OUT_DIR
  rcpt containing "bounce"   → 550 (permanent failure)
  rcpt containing "tempfail" → 451 (temporary failure)
Prints "ready" once listening; stops on SIGTERM.
"""
import asyncio, itertools, os, signal, sys, time, uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out
        # Names sort in the order messages arrived (the tests read "what came since"), also
        # across a restart of the sink on the same folder.
        self.seq = itertools.count(time.time_ns())

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if 'bounce' in address:
            return '550 5.1.1 No such user here'
        if 'tempfail' in address:
            return '451 4.3.0 Try again later'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(self.out, f'{next(self.seq):020d}-{uuid.uuid4().hex}.eml')
        tmp = name + '.tmp'
        with open(tmp, 'wb') as f:
            f.write(envelope.original_content or envelope.content)
        os.replace(tmp, name)
        return '250 Message accepted for delivery'


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    c = Controller(Sink(out), hostname='127.0.0.1', port=port, decode_data=False)
    c.start()
    print('ready', flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.run_until_complete(stop.wait())
    c.stop()


if __name__ == '__main__':
    main()
