//! The demo's people and its open collection: one account per role with a
//! password, the admin's second factor enrolled with its secret printed as
//! an `otpauth://` line (so a newcomer signs in within a minute with any
//! authenticator app), and the collection of the year being collected.
//! The accounts are made once and written to `demo-konten.txt` in the demo
//! ring's directory (the demo's own data, never a real ring's), so every
//! later start prints the same sign-ins.

use std::path::Path;

use anyhow::Context;
use vergleichsring_store::{Member, NewUser, Role, Store};

/// The file in the demo directory that keeps the demo's sign-ins.
const ACCOUNTS_FILE: &str = "demo-konten.txt";

/// One demo sign-in.
pub struct Person {
    /// The role, as the command line names it.
    pub role: Role,
    /// The address to sign in with.
    pub email: String,
    /// The password.
    pub password: String,
    /// The second factor's `otpauth://` line (admin only).
    pub otpauth: Option<String>,
}

/// The demo's people: read from `demo-konten.txt`, or made now (each
/// account invited and taken up with a random password; the admin's
/// second factor enrolled) and written there.
pub async fn people(
    data_dir: &Path,
    store: &Store,
    member: &Member,
    consultant: &str,
) -> anyhow::Result<Vec<Person>> {
    let file = data_dir.join(ACCOUNTS_FILE);
    if let Ok(text) = std::fs::read_to_string(&file)
        && let Some(people) = parse(&text)
    {
        return Ok(people);
    }
    let mut people = Vec::new();
    for (role, email, name) in [
        (
            Role::Admin,
            "koordination@demo.vergleichsring.de",
            "Kim Koordination",
        ),
        (Role::Analyst, "analyse@demo.vergleichsring.de", "Ana Lyse"),
        (
            Role::Consultant,
            "beratung@demo.vergleichsring.de",
            "Bea Beratung",
        ),
        (
            Role::Member,
            "bibliothek@demo.vergleichsring.de",
            "Lena Bibliothek",
        ),
    ] {
        let new = NewUser {
            email: email.to_string(),
            name: name.to_string(),
            role,
            member_id: (role == Role::Member).then(|| member.member_id.clone()),
            consultant_id: (role == Role::Consultant).then(|| consultant.to_string()),
            lead: role == Role::Member,
        };
        let (user, code) = store
            .invite_user("demo", new)
            .await
            .with_context(|| format!("making the demo account {email}"))?;
        let password = password();
        store.accept_invitation(&code, &password).await?;
        let otpauth = if role == Role::Admin {
            let secret = vergleichsring_store::base32(&rand::random::<[u8; 20]>());
            let bytes = vergleichsring_store::base32_decode(&secret)
                .context("the demo's second-factor secret")?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let code = format!("{:06}", vergleichsring_store::totp_code(&bytes, now));
            store.enrol_totp(&user.user_id, &secret, &code).await?;
            Some(format!(
                "otpauth://totp/Vergleichsring%20Demo:{email}?secret={secret}&issuer=Vergleichsring%20Demo"
            ))
        } else {
            None
        };
        people.push(Person {
            role,
            email: email.to_string(),
            password,
            otpauth,
        });
    }
    std::fs::write(&file, render(&people))
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(people)
}

/// A random password of 16 letters and digits (no look-alikes).
fn password() -> String {
    const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..16)
        .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
        .collect()
}

/// The file's text: one line per person, tab-separated.
fn render(people: &[Person]) -> String {
    let mut out = String::from(
        "# Demo-Zugänge (nur für die Demo): Rolle, E-Mail, Passwort, zweiter Faktor\n",
    );
    for p in people {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            p.role.as_str(),
            p.email,
            p.password,
            p.otpauth.as_deref().unwrap_or("-")
        ));
    }
    out
}

fn parse(text: &str) -> Option<Vec<Person>> {
    let people: Vec<Person> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split('\t');
            let role = Role::parse(parts.next()?)?;
            let email = parts.next()?.to_string();
            let password = parts.next()?.to_string();
            let otpauth = parts.next().filter(|o| *o != "-").map(str::to_string);
            Some(Person {
                role,
                email,
                password,
                otpauth,
            })
        })
        .collect::<Option<_>>()?;
    (people.len() == 4).then_some(people)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accounts_file_reads_back() {
        let people = vec![
            Person {
                role: Role::Admin,
                email: "a@x.de".into(),
                password: password(),
                otpauth: Some("otpauth://totp/x?secret=ABC".into()),
            },
            Person {
                role: Role::Analyst,
                email: "b@x.de".into(),
                password: "p".into(),
                otpauth: None,
            },
            Person {
                role: Role::Consultant,
                email: "c@x.de".into(),
                password: "p".into(),
                otpauth: None,
            },
            Person {
                role: Role::Member,
                email: "d@x.de".into(),
                password: "p".into(),
                otpauth: None,
            },
        ];
        let back = parse(&render(&people)).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back[0].otpauth, people[0].otpauth);
        assert_eq!(back[0].password, people[0].password);
        assert_eq!(back[3].role, Role::Member);
        assert_eq!(people[0].password.len(), 16);
    }
}
