//! E-mail: invitations and password resets are sent over SMTP (STARTTLS,
//! credentials from the configuration or the environment). Without a mail
//! server configured the links are only shown to the inviter.

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

    /// Sends one plain-text message (UTF-8) to one address.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| MailError(format!("recipient {to:?}: {e}")))?;
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

/// The text of an invitation e-mail.
pub fn invitation_text(name: &str, inviter: &str, link: &str, expires_at: &str) -> String {
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
    format!(
        "Guten Tag {name},\n\n\
         für Ihren Zugang zum Vergleichsring wurde ein neues Passwort angefordert. Über \
         diesen Link legen Sie es fest:\n\n{link}\n\n\
         Der Link gilt eine Stunde und nur einmal. Danach sind alle bisherigen Anmeldungen \
         beendet. Haben Sie nichts angefordert, löschen Sie diese E-Mail; Ihr Passwort \
         bleibt dann, wie es ist.\n\n\
         Ihr Vergleichsring\n"
    )
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
    let mailer = state.mail.as_ref()?;
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
