//! The page of a signed-in account that is not a member's (`/web` for
//! analysts, consultants and admins), and the admin's list of users
//! (`/web/benutzer`).

use maud::{Markup, html};
use vergleichsring_store::{Role, UserRecord};

use crate::web::layout::{layout, table_head};
use crate::web::signed_in::Account;

/// A person just invited: the address, the link path, and whether the
/// e-mail went out (`None`: no mail server is configured).
pub(crate) struct Invited {
    pub(crate) email: String,
    pub(crate) link: String,
    pub(crate) mailed: Option<bool>,
}

/// What the inviter sees after an invitation.
pub(crate) fn invited_notice(invited: &Invited) -> Markup {
    html! {
        p class="notice" role="status" {
            "Eingeladen: " strong { (invited.email) } ". "
            @match invited.mailed {
                Some(true) => { "Die Einladung ist per E-Mail unterwegs. Der Link, falls sie nicht ankommt: " }
                Some(false) => { "Die E-Mail konnte nicht zugestellt werden; geben Sie diesen Link selbst weiter: " }
                None => { "Geben Sie diesen Link weiter: " }
            }
            code { (invited.link) }
        }
    }
}

/// The state of an account in words.
pub(crate) fn user_state(u: &UserRecord) -> &'static str {
    if u.disabled {
        "gesperrt"
    } else if u.password_hash.is_some() || u.sso.is_some() {
        "aktiv"
    } else {
        "eingeladen"
    }
}

/// A role in German.
pub(crate) fn role_de(role: Role) -> &'static str {
    match role {
        Role::Admin => "Betrieb",
        Role::Analyst => "Analyse",
        Role::Consultant => "Beratung",
        Role::Member => "Mitglied",
    }
}

/// The home page of an account without a member: its role and the pages
/// open to it.
pub(crate) fn account_home(account: &Account) -> Markup {
    let role = account.caller.role;
    layout(
        "Übersicht",
        Some((&account.name, &account.csrf)),
        html! {
            h1 { (account.name) }
            p { "Ihre Rolle: " (role_de(role)) "." }
            p { "Vergleiche, Zeitreihen und Berichte rufen Sie über die Programmierschnittstelle (API) ab, mit einem persönlichen Zugangsschlüssel." }
            ul {
                li { a href="/web/schluessel" { "Persönliche Zugangsschlüssel" } }
                li { a href="/web/zweiter-faktor" { "Zweiter Faktor" } }
                @if matches!(role, Role::Analyst | Role::Admin) {
                    li { a href="/web/analyse" { "Analyse: Vergleiche erkunden, SQL-Konsole" } }
                }
                @if role == Role::Consultant {
                    li { a href="/web/beratung" { "Ihre Mandanten und ihre Berichte" } }
                }
                @if role == Role::Admin {
                    li { a href="/web/sammlung" { "Datenerhebung: Fristen, Stand, Prüfung, Freigabe" } }
                    li { a href="/web/mitglieder" { "Mitglieder eintragen" } }
                    li { a href="/web/benutzer" { "Benutzer verwalten" } }
                }
            }
        },
    )
}

/// The admin's list of users, of one member when `member` is given (at
/// most `shown` rows of `total`), with the invitation form and, after an
/// invitation, its link.
pub(crate) fn admin_users(
    account: &Account,
    users: &[UserRecord],
    total: usize,
    member: Option<&str>,
    invited: Option<&Invited>,
    error: Option<&str>,
) -> Markup {
    layout(
        "Benutzer",
        Some((&account.name, &account.csrf)),
        html! {
            section {
                h1 { "Benutzer" }
                @if let Some(invited) = invited {
                    (invited_notice(invited))
                }
                @if let Some(e) = error {
                    p class="error" role="alert" { (e) }
                }
                form method="get" action="/web/benutzer" class="row" {
                    label for="mitglied" { "Mitgliedsnummer" }
                    input type="text" id="mitglied" name="mitglied" value=(member.unwrap_or("")) inputmode="numeric" autocomplete="off";
                    button type="submit" { "Anzeigen" }
                }
                p class="muted" {
                    @if let Some(m) = member { "Zugänge des Mitglieds " (m) ": " }
                    @else { "Alle Zugänge: " }
                    (total)
                    @if users.len() < total { ", die ersten " (users.len()) " angezeigt" }
                    "."
                }
                table {
                    (table_head(&["Name", "E-Mail-Adresse", "Rolle", "Mitglied", "Einladungsrecht", "Zweiter Faktor", "Stand", "Aktion"]))
                    tbody {
                        @for u in users {
                            (user_row(account, u))
                        }
                    }
                }
                (invite_form(account, member))
                p { a href="/web" { "Zurück zur Übersicht" } }
            }
        },
    )
}

/// A user's row in the admin's list, with the buttons for the account.
fn user_row(account: &Account, u: &UserRecord) -> Markup {
    html! {
        tr {
            td { (u.name) }
            td { (u.email) }
            td { (role_de(u.role)) }
            td { (u.member_id.as_deref().or(u.consultant_id.as_deref()).unwrap_or("–")) }
            td { @if u.lead { "ja" } @else { "nein" } }
            td { @if u.totp_secret.is_some() { "ja" } @else { "nein" } }
            td { (user_state(u)) }
            td {
                @if !u.disabled {
                    form method="post" action="/web/benutzer/sperren" {
                        input type="hidden" name="csrf" value=(account.csrf);
                        input type="hidden" name="user_id" value=(u.user_id);
                        button type="submit" aria-label={ (u.name) " sperren" } { "Sperren" }
                    }
                    @if u.totp_secret.is_some() {
                        form method="post" action="/web/benutzer/zweiter-faktor" {
                            input type="hidden" name="csrf" value=(account.csrf);
                            input type="hidden" name="user_id" value=(u.user_id);
                            button type="submit" aria-label={ "Zweiten Faktor von " (u.name) " zurücksetzen" } { "Zweiten Faktor zurücksetzen" }
                        }
                    }
                }
            }
        }
    }
}

/// The admin's form to invite a person for a role.
fn invite_form(account: &Account, member: Option<&str>) -> Markup {
    html! {
        h2 { "Einladen" }
        form method="post" action="/web/benutzer" {
            input type="hidden" name="csrf" value=(account.csrf);
            label for="name" { "Name" }
            input type="text" id="name" name="name" autocomplete="off" required maxlength="200";
            label for="email" { "E-Mail-Adresse" }
            input type="email" id="email" name="email" autocomplete="off" required;
            label for="role" { "Rolle" }
            select id="role" name="role" {
                option value="member" { "Mitglied" }
                option value="analyst" { "Analyse" }
                option value="consultant" { "Beratung" }
                option value="admin" { "Betrieb" }
            }
            label for="member_id" { "Mitgliedsnummer (für Mitglieder)" }
            input type="text" id="member_id" name="member_id" value=(member.unwrap_or("")) autocomplete="off";
            label for="consultant_id" { "Beratungs-Kennung (für Beratung)" }
            input type="text" id="consultant_id" name="consultant_id" autocomplete="off";
            p {
                input type="checkbox" id="lead" name="lead" value="1";
                " "
                label for="lead" { "Darf Kolleginnen und Kollegen der eigenen Kommune einladen" }
            }
            p { button type="submit" { "Einladen" } }
        }
    }
}
