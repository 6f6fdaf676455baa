//! E-mail: invitations, password resets and notices are sent over SMTP
//! (STARTTLS, credentials from the configuration or the environment).
//! Without a mail server configured the links are only shown to the
//! inviter.
//!
//! Every text a user typed (names, a municipality's name) goes into a mail
//! as one plain line of at most 200 characters ([`user_text`]): line
//! breaks and control characters become spaces, and web addresses are
//! defanged (`https[:]//`, `www[.]`, `ring[.]de/login`), so a name cannot add lines, headers
//! or a clickable link to a mail that comes from the ring. Recipients are
//! single addresses, read strictly (no display name).

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How the service reaches its mail server.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// Host name of the SMTP server (also the name its certificate must bear).
    pub host: String,
    /// Port, usually 587 (submission with STARTTLS).
    pub port: u16,
    /// Require STARTTLS (the default); off only for a relay on loopback.
    pub starttls: bool,
    /// The sender, e.g. `Vergleichsring <ring@example.de>`.
    pub from: String,
    /// User name and password for `AUTH`, if the server asks for them.
    pub credentials: Option<(String, String)>,
    /// PEM certificates to trust beside the system's (a private CA).
    pub ca_pem: Option<Vec<u8>>,
    /// How long one delivery may take.
    pub timeout: Duration,
}

/// A configured mail server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// A message that could not be delivered, in words for the log and the
/// inviter.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailError(pub String);

impl Mailer {
    /// Checks the configuration (sender address, certificates) and builds
    /// the transport; nothing is sent yet.
    pub fn new(config: &MailConfig) -> Result<Mailer, MailError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| MailError(format!("mail.from {:?}: {e}", config.from)))?;
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str())
                .port(config.port)
                .timeout(Some(config.timeout));
        if config.starttls {
            let mut tls = TlsParameters::builder(config.host.clone());
            if let Some(pem) = &config.ca_pem {
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| MailError(format!("mail.ca_file: {e}")))?;
                tls = tls.add_root_certificate(cert);
            }
            let tls = tls
                .build_rustls()
                .map_err(|e| MailError(format!("mail: TLS settings: {e}")))?;
            builder = builder.tls(Tls::Required(tls));
        }
        if let Some((user, password)) = &config.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// Sends one plain-text message (UTF-8) to one address: exactly one
    /// mailbox without a display name (see `vergleichsring_store::parse_email`).
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let address: lettre::Address = vergleichsring_store::parse_email(to)
            .map_err(|rule| MailError(format!("recipient {to:?}: {rule}")))?
            .parse()
            .map_err(|e| MailError(format!("recipient {to:?}: {e}")))?;
        let to = Mailbox::new(None, address);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| MailError(format!("message: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| MailError(format!("SMTP: {e}")))
    }
}

/// User text as it goes into a mail: one plain line of at most 200
/// characters, with anything a mail program could make a link defanged.
/// Mail programs link a scheme (`https://x`, `mailto:x`), a bare host
/// name (`www.x`, `anmeldung-ring.de/login`, the domain of an address)
/// and a Windows share (`\\host\share`). So a colon before a non-space
/// becomes `[:]`, a dot between two non-spaces `[.]` (whatever they are:
/// an accent mark or an invisible character beside the dot would otherwise
/// keep a host name whole), and a double backslash `[\]\`. A name
/// hardly ever has either; `Dr. Anna Weber`, `Hinweis: …` and a closing
/// `Stadt.` stay as they are.
pub fn user_text(text: &str) -> String {
    let line = vergleichsring_store::plain_line(text, vergleichsring_store::MAX_NAME_CHARS);
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).and_then(|j| chars.get(j));
        let after = chars.get(i + 1);
        let defang = match c {
            ':' => after.is_some_and(|a| !a.is_whitespace()),
            '.' => {
                before.is_some_and(|b| !b.is_whitespace())
                    && after.is_some_and(|a| !a.is_whitespace() && *a != '.')
            }
            '\\' => after == Some(&'\\'),
            _ => false,
        };
        if defang {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

/// The text of an invitation e-mail.
pub fn invitation_text(name: &str, inviter: &str, link: &str, expires_at: &str) -> String {
    let (name, inviter) = (user_text(name), user_text(inviter));
    format!(
        "Guten Tag {name},\n\n\
         {inviter} hat Sie zum Vergleichsring eingeladen. Über diesen Link legen Sie Ihr \
         Passwort fest oder melden sich über Ihre Kommune an:\n\n{link}\n\n\
         Der Link gilt bis {expires_at} (UTC) und nur einmal. Wenn Sie mit dieser Einladung \
         nichts anfangen können, löschen Sie diese E-Mail einfach.\n\n\
         Ihr Vergleichsring\n"
    )
}

/// The text of a password-reset e-mail.
pub fn reset_text(name: &str, link: &str) -> String {
    let name = user_text(name);
    format!(
        "Guten Tag {name},\n\n\
         für Ihren Zugang zum Vergleichsring wurde ein neues Passwort angefordert. Über \
         diesen Link legen Sie es fest:\n\n{link}\n\n\
         Der Link gilt eine Stunde und nur einmal. Danach sind alle bisherigen Anmeldungen \
         beendet, und Ihre persönlichen Zugangsschlüssel sind gesperrt (außer Sie wählen \
         auf der Seite, sie zu behalten). Haben Sie nichts angefordert, löschen Sie diese \
         E-Mail; Ihr Passwort bleibt dann, wie es ist.\n\n\
         Ihr Vergleichsring\n"
    )
}

/// The notice to an address that has an account already, sent instead of
/// an invitation (the inviter is not told which of the two went out).
pub fn existing_account_text(name: &str, inviter: &str, base: &str) -> String {
    let (name, inviter) = (user_text(name), user_text(inviter));
    format!(
        "Guten Tag {name},\n\n\
         {inviter} wollte Sie zum Vergleichsring einladen. Mit dieser E-Mail-Adresse haben \
         Sie dort schon einen Zugang; eine neue Einladung ist nicht nötig. Sie melden sich \
         hier an:\n\n{base}/web\n\n\
         Haben Sie Ihr Passwort vergessen, fordern Sie dort unter „Passwort vergessen?“ einen \
         Link an.\n\n\
         Ihr Vergleichsring\n"
    )
}

/// The notice that an admin reset the second factor of an account.
pub fn second_factor_reset_text(name: &str, tokens_ended: usize) -> String {
    let name = user_text(name);
    let tokens = if tokens_ended > 0 {
        format!(
            " Ihre persönlichen Zugangsschlüssel ({tokens_ended}) wurden dabei gesperrt; \
             legen Sie bei Bedarf neue an."
        )
    } else {
        String::new()
    };
    format!(
        "Guten Tag {name},\n\n\
         der Betrieb des Vergleichsrings hat den zweiten Faktor Ihres Zugangs zurückgesetzt. \
         Alle Anmeldungen sind beendet; bei der nächsten Anmeldung richten Sie einen neuen \
         zweiten Faktor ein.{tokens}\n\n\
         Haben Sie das nicht veranlasst, wenden Sie sich bitte sofort an den Betrieb.\n\n\
         Ihr Vergleichsring\n"
    )
}

/// Sends one message to an account's address when a mail server is
/// configured: `Some(delivered)`, or `None` without one. A failed
/// delivery is logged, never an error.
pub(crate) async fn send_to(
    state: &crate::AppState,
    user: &vergleichsring_store::UserRecord,
    subject: &str,
    body: String,
) -> Option<bool> {
    let mailer = state.mail.as_ref()?;
    match mailer.send(&user.email, subject, body).await {
        Ok(()) => {
            tracing::info!(user_id = user.user_id, subject, "e-mail sent");
            Some(true)
        }
        Err(e) => {
            tracing::warn!(user_id = user.user_id, subject, error = %e, "e-mail not delivered");
            Some(false)
        }
    }
}

/// Sends the e-mail of an invitation (or a password reset, `reset`) when
/// a mail server is configured: `Some(delivered)`, or `None` without one.
/// A failed delivery is logged and reported, never an error: the link is
/// shown to the inviter as well.
pub(crate) async fn send_link(
    state: &crate::AppState,
    user: &vergleichsring_store::UserRecord,
    code: &str,
    invitation: Option<(&str, &str)>,
) -> Option<bool> {
    state.mail.as_ref()?;
    let base = state.public_url.as_deref().unwrap_or("");
    let (subject, body) = match invitation {
        Some((inviter, expires_at)) => (
            "Einladung zum Vergleichsring",
            invitation_text(
                &user.name,
                inviter,
                &format!("{base}/web/einladung/{code}"),
                expires_at,
            ),
        ),
        None => (
            "Neues Passwort für den Vergleichsring",
            reset_text(&user.name, &format!("{base}/web/passwort-neu/{code}")),
        ),
    };
    send_to(state, user, subject, body).await
}

/// Tells the person that its second factor was reset (and how many tokens
/// ended), after the answer: a slow mail server does not hold it up.
pub(crate) fn notify_second_factor_reset(
    state: &crate::AppState,
    user: vergleichsring_store::UserRecord,
    tokens_ended: usize,
) {
    if state.mail.is_none() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        let body = second_factor_reset_text(&user.name, tokens_ended);
        send_to(
            &state,
            &user,
            "Zweiter Faktor zurückgesetzt – Vergleichsring",
            body,
        )
        .await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name with line breaks and a link stays one line of the body,
    /// the link defanged; the recipient is one bare address.
    #[test]
    fn user_text_in_mails_is_one_plain_line() {
        let text = invitation_text(
            "Eve\r\nBcc: x@evil.example\r\n\r\nBitte hier: https://evil.example/login www.evil.example",
            "Lea\nLead",
            "https://ring.example.de/web/einladung/abc",
            "2026-12-31T00:00:00Z",
        );
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            "Guten Tag Eve Bcc: x@evil[.]example Bitte hier: https[:]//evil[.]example/login www[.]evil[.]example,"
        );
        assert!(text.contains("Lea Lead hat Sie"), "{text}");
        assert!(!text.contains("https://evil"), "{text}");
        assert!(text.contains("https://ring.example.de/web/einladung/abc"));
        assert_eq!(user_text(&"x".repeat(500)).chars().count(), 200);
    }

    /// Bare host names, schemes and addresses are defanged; a name with
    /// an abbreviation or a colon before a space is not changed.
    #[test]
    fn bare_hosts_and_schemes_are_defanged() {
        assert_eq!(
            user_text("zuerst: anmeldung-vergleichsring.de/login oder mailto:eve@evil.example"),
            "zuerst: anmeldung-vergleichsring[.]de/login oder mailto[:]eve@evil[.]example"
        );
        assert_eq!(user_text("Dr. Anna-Lena Weber"), "Dr. Anna-Lena Weber");
        assert_eq!(user_text("evil\u{ad}.com"), "evil[.]com");
        assert_eq!(user_text("evile\u{301}.de"), "evile\u{301}[.]de");
        assert_eq!(user_text(r"\\host\share"), r"[\]\host\share");
        assert_eq!(user_text("Warte..."), "Warte...");
        assert_eq!(user_text("St. Ingbert, Stadt."), "St. Ingbert, Stadt.");
        assert_eq!(user_text("xn--mnchen-3ya.de"), "xn--mnchen-3ya[.]de");
    }

    proptest::proptest! {
        /// For every text: one line, and no colon before a non-space nor
        /// a dot between two letters or digits outside the brackets.
        #[test]
        fn user_text_never_leaves_a_link(text in "\\PC{0,300}") {
            let out = user_text(&text);
            proptest::prop_assert!(!out.contains('\n') && !out.contains('\r'));
            proptest::prop_assert!(!out.contains("\\\\"), "{out}");
            let chars: Vec<char> = out.chars().collect();
            for (i, c) in chars.iter().enumerate() {
                let bracketed = i > 0 && chars[i - 1] == '[' && chars.get(i + 1) == Some(&']');
                if bracketed {
                    continue;
                }
                if *c == ':' {
                    proptest::prop_assert!(chars.get(i + 1).is_none_or(|a| a.is_whitespace()), "{out}");
                }
                if *c == '.' && i > 0 {
                    proptest::prop_assert!(
                        chars[i - 1].is_whitespace()
                            || chars.get(i + 1).is_none_or(|a| a.is_whitespace() || *a == '.')
                            || chars.get(i + 1..i + 4) == Some(&['[', '.', ']'][..]),
                        "{out}"
                    );
                }
            }
        }
    }
}
