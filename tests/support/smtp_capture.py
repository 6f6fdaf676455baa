#!/usr/bin/env python3
"""An SMTP server for tests that captures mail instead of delivering it.

It listens on 127.0.0.1:PORT, offers STARTTLS with DIR/cert.pem and
DIR/key.pem and requires it, then requires AUTH PLAIN or AUTH LOGIN with the
credentials from SMTP_CAPTURE_USER / SMTP_CAPTURE_PASSWORD (by default
`vergleichsring` / `smtp-secret`). Every accepted message is stored as
DIR/mail/NNNNNN.eml. It runs until SIGTERM (or SIGINT).

Start it through `.ci/smtp-capture.sh start DIR PORT`, which installs
aiosmtpd into a venv of its own and makes the certificate.
"""

import argparse
import asyncio
import hmac
import logging
import os
import re
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

log = logging.getLogger("smtp_capture")

EML_NAME = re.compile(r"^(\d{6,})\.eml$")


class Store:
    """Numbers and writes the captured messages of one mail directory."""

    def __init__(self, mail_dir):
        self.mail_dir = mail_dir
        os.makedirs(mail_dir, exist_ok=True)
        # A restart with the same directory continues the numbering, so that
        # mail captured before the restart is never overwritten.
        numbers = [
            int(m.group(1))
            for m in map(EML_NAME.match, os.listdir(mail_dir))
            if m
        ]
        self.last = max(numbers, default=0)

    def save(self, raw):
        self.last += 1
        name = f"{self.last:06d}.eml"
        # The message is written under a name that does not end in .eml and
        # then renamed, which is atomic within one directory: a reader that
        # looks for *.eml sees either nothing or the whole message.
        tmp = os.path.join(self.mail_dir, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(raw)
        os.replace(tmp, os.path.join(self.mail_dir, name))
        return name


class CaptureHandler:
    """aiosmtpd handler: stores each message that passed AUTH and STARTTLS."""

    def __init__(self, store):
        self.store = store

    async def handle_DATA(self, server, session, envelope):
        # The envelope is not part of the message itself (Bcc recipients, for
        # one, appear only there), so it is kept as two header lines on top.
        head = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("utf-8")
        # original_content is the DATA exactly as received (dot-unstuffed,
        # CRLF line ends, 8-bit bytes untouched), which is what a test of the
        # sending side wants to look at.
        name = self.store.save(head + envelope.original_content)
        log.info(
            "stored %s from %s to %s (%d bytes)",
            name,
            envelope.mail_from,
            ", ".join(envelope.rcpt_tos),
            len(envelope.original_content),
        )
        return f"250 2.0.0 OK stored as {name}"


def make_authenticator(user, password):
    """Returns an aiosmtpd authenticator that accepts exactly one login."""
    want_user = user.encode("utf-8")
    want_password = password.encode("utf-8")

    def authenticator(server, session, envelope, mechanism, auth_data):
        # aiosmtpd's built-in PLAIN and LOGIN both hand over a LoginPassword;
        # anything else is refused rather than guessed at.
        if mechanism not in ("PLAIN", "LOGIN") or not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        # compare_digest keeps the comparison from depending on how many
        # leading bytes match; cheap habit, even in a test server.
        ok = hmac.compare_digest(auth_data.login, want_user) & hmac.compare_digest(
            auth_data.password, want_password
        )
        if not ok:
            log.info("refused AUTH %s for %r", mechanism, auth_data.login)
        # handled=False lets aiosmtpd answer 535 5.7.8 on failure itself.
        return AuthResult(success=bool(ok), handled=False)

    return authenticator


async def serve(args):
    loop = asyncio.get_running_loop()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(
        os.path.join(args.dir, "cert.pem"), os.path.join(args.dir, "key.pem")
    )
    handler = CaptureHandler(Store(os.path.join(args.dir, "mail")))
    authenticator = make_authenticator(
        os.environ.get("SMTP_CAPTURE_USER", "vergleichsring"),
        os.environ.get("SMTP_CAPTURE_PASSWORD", "smtp-secret"),
    )

    def factory():
        # One SMTP protocol object per connection, as aiosmtpd's Controller
        # would make; running the loop here instead of in a Controller thread
        # lets SIGTERM be handled on the loop itself.
        return SMTP(
            handler,
            hostname="localhost",  # not socket.getfqdn(), which may wait on DNS
            tls_context=tls,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=authenticator,
            loop=loop,
        )

    server = await loop.create_server(factory, host="127.0.0.1", port=args.port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("listening on 127.0.0.1:%d, mail in %s", args.port, handler.store.mail_dir)
    await stop.wait()
    log.info("stopping")
    server.close()
    # From Python 3.12 on wait_closed also waits for open connections; a
    # client that hangs on must not keep the server from stopping.
    try:
        await asyncio.wait_for(server.wait_closed(), 2)
    except asyncio.TimeoutError:
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="holds cert.pem, key.pem and mail/")
    parser.add_argument("--port", required=True, type=int)
    args = parser.parse_args()
    args.dir = os.path.abspath(args.dir)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    # aiosmtpd logs every connection at INFO; its warnings are enough here.
    # Of those, it emits the one about its own deprecated Session.login_data
    # on every successful AUTH (aiosmtpd sets the attribute itself), which
    # says nothing about the test and is dropped.
    aiosmtpd_log = logging.getLogger("mail.log")
    aiosmtpd_log.setLevel(logging.WARNING)
    aiosmtpd_log.addFilter(lambda record: "login_data is deprecated" not in record.getMessage())
    asyncio.run(serve(args))
    log.info("stopped")


if __name__ == "__main__":
    main()
