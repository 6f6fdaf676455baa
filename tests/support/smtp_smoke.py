#!/usr/bin/env python3
"""Smoke test of the capturing SMTP server (.ci/smtp-capture.sh).

Starts the server on a free port in a temporary directory and checks with
nothing but the standard library's smtplib that it refuses mail without
STARTTLS and AUTH, refuses a wrong password, and stores a UTF-8 message sent
over STARTTLS with the right credentials as exactly one .eml file. Prints OK.

    python3 tests/support/smtp_smoke.py
"""

import email
import email.policy
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
from email.message import EmailMessage

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, ".ci", "smtp-capture.sh")
USER = os.environ.get("SMTP_CAPTURE_USER", "vergleichsring")
PASSWORD = os.environ.get("SMTP_CAPTURE_PASSWORD", "smtp-secret")


def free_port():
    # The kernel picks a port that is free now; the short race until the
    # server binds it is acceptable for a smoke test.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tls_context(cert):
    # Trusts only the server's own certificate and checks the host name, as
    # the Rust client will. VERIFY_X509_STRICT is Python 3.13's default and
    # catches certificates that stricter verifiers would refuse.
    ctx = ssl.create_default_context(cafile=cert)
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


def expect_refused(what, code, fn):
    try:
        fn()
    except (smtplib.SMTPResponseException, smtplib.SMTPSenderRefused) as e:
        if e.smtp_code != code:
            raise AssertionError(f"{what}: expected {code}, got {e.smtp_code} {e.smtp_error!r}")
        return
    raise AssertionError(f"{what}: was not refused")


def eml_files(mail_dir):
    return sorted(n for n in os.listdir(mail_dir) if n.endswith(".eml"))


def check(tmp, port):
    cert = os.path.join(tmp, "cert.pem")
    mail_dir = os.path.join(tmp, "mail")

    # (a) Without STARTTLS neither mail nor AUTH is taken.
    with smtplib.SMTP("127.0.0.1", port, "localhost", timeout=10) as s:
        s.ehlo()
        assert s.has_extn("starttls"), "STARTTLS not offered"
        expect_refused("MAIL before STARTTLS", 530,
                       lambda: s.sendmail("a@example.org", ["b@example.org"], "Subject: x\r\n\r\nx\r\n"))
    with smtplib.SMTP("127.0.0.1", port, "localhost", timeout=10) as s:
        s.ehlo()
        assert not s.has_extn("auth"), "AUTH offered before STARTTLS"
        code, resp = s.docmd("AUTH", "PLAIN")
        assert code == 530, f"AUTH before STARTTLS: expected 530, got {code} {resp!r}"
    # After STARTTLS, but without AUTH, mail is still refused.
    with smtplib.SMTP("localhost", port, "localhost", timeout=10) as s:
        s.starttls(context=tls_context(cert))
        s.ehlo()
        expect_refused("MAIL without AUTH", 530,
                       lambda: s.sendmail("a@example.org", ["b@example.org"], "Subject: x\r\n\r\nx\r\n"))

    # (b) A wrong password is refused with 535, with PLAIN and with LOGIN.
    for mech in ("PLAIN", "LOGIN"):
        with smtplib.SMTP("localhost", port, "localhost", timeout=10) as s:
            s.starttls(context=tls_context(cert))
            s.ehlo()
            s.user, s.password = USER, PASSWORD + "-wrong"
            expect_refused(f"AUTH {mech} with a wrong password", 535,
                           lambda: s.auth(mech, getattr(s, "auth_" + mech.lower())))
    assert eml_files(mail_dir) == [], "mail stored before a successful send"

    # The right credentials pass with LOGIN too (the send below uses PLAIN),
    # and the certificate's IP address entry holds for 127.0.0.1.
    with smtplib.SMTP("127.0.0.1", port, "localhost", timeout=10) as s:
        s.starttls(context=tls_context(cert))
        s.ehlo()
        s.user, s.password = USER, PASSWORD
        code, _ = s.auth("LOGIN", s.auth_login)
        assert code == 235, f"AUTH LOGIN: {code}"

    # (c) STARTTLS + AUTH + a UTF-8 message with umlauts is stored once.
    subject = "Prüfbericht für Größen – Übersicht"
    body = "Grüße aus Köln!\nÄrger, Öl und Übermaß: äöüß ÄÖÜ.\n"
    msg = EmailMessage()
    msg["From"] = "Vergleichsring <noreply@vergleichsring.example>"
    msg["To"] = "Jörg Müller <joerg@example.org>"
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP("localhost", port, "localhost", timeout=10) as s:
        s.starttls(context=tls_context(cert))
        s.ehlo()
        s.user, s.password = USER, PASSWORD
        code, _ = s.auth("PLAIN", s.auth_plain)
        assert code == 235, f"AUTH PLAIN: {code}"
        refused = s.send_message(
            msg, to_addrs=["joerg@example.org", "archiv@example.org"]
        )
        assert refused == {}, refused

    files = eml_files(mail_dir)
    assert files == ["000001.eml"], files
    assert sorted(os.listdir(mail_dir)) == files, "temporary files left behind"
    with open(os.path.join(mail_dir, files[0]), "rb") as f:
        raw = f.read()
    assert raw.startswith(b"X-Envelope-From: noreply@vergleichsring.example\r\n"
                          b"X-Envelope-To: joerg@example.org, archiv@example.org\r\n"), raw[:200]
    got = email.message_from_bytes(raw, policy=email.policy.default)
    assert got["Subject"] == subject, got["Subject"]
    assert got["To"] == "Jörg Müller <joerg@example.org>", got["To"]
    # The file keeps the wire's CRLF line ends, so the body's are CRLF too.
    assert got.get_content().replace("\r\n", "\n") == body, repr(got.get_content())


def running(pid):
    # The server's parent is gone by now, so once it exits it may linger as a
    # zombie until init reaps it; a zombie's cmdline is empty.
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"smtp_capture" in f.read()
    except FileNotFoundError:
        return False


def main():
    tmp = tempfile.mkdtemp(prefix="smtp-smoke-")
    port = free_port()
    started = False
    try:
        pid = subprocess.run(["bash", SCRIPT, "start", tmp, str(port)], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.strip()
        started = True
        assert pid.isdigit(), f"start printed {pid!r}"
        check(tmp, port)
        subprocess.run(["bash", SCRIPT, "stop", tmp], check=True)
        started = False
        assert not running(pid), f"server {pid} still running after stop"
        with open(os.path.join(tmp, "smtp.log")) as f:
            log = f.read()
        assert "stopped" in log, log
    except Exception:
        log = os.path.join(tmp, "smtp.log")
        if os.path.exists(log):
            with open(log) as f:
                sys.stderr.write("--- smtp.log\n" + f.read())
        raise
    finally:
        if started:
            subprocess.run(["bash", SCRIPT, "stop", tmp])
        shutil.rmtree(tmp, ignore_errors=True)
    print("OK")


if __name__ == "__main__":
    main()
