//! The path and query parameters of the API and the web page, one struct
//! per shape: the handlers extract them (`crate::extract::ApiPath`,
//! `crate::extract::ApiQuery`) and the OpenAPI document describes them
//! (`IntoParams`), so a parameter is declared in one place.

use serde::Deserialize;
use utoipa::IntoParams;

use super::{CsvDialect, ReportFormat, WarningFilter};

/// Path: a domain and a year.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DomainYearPath {
    /// Domain id from the catalogue.
    #[param(example = json!("library"))]
    pub domain: String,
    /// Reporting year, 1990 to 2100.
    #[param(example = json!(2024))]
    pub year: i32,
}

/// Path: a domain and a key figure.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DomainFigurePath {
    /// Domain id from the catalogue.
    #[param(example = json!("library"))]
    pub domain: String,
    /// Key figure id of the domain.
    #[param(example = json!("loans_per_capita"))]
    pub figure: String,
}

/// Path: a member.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// Official regional key of the member.
    #[param(example = json!("05315000"))]
    pub member_id: String,
}

/// Path: a member and a consultant.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GrantPath {
    /// Official regional key of the member.
    #[param(example = json!("05315000"))]
    pub member_id: String,
    /// The consultant's id.
    #[param(example = json!("c1"))]
    pub consultant_id: String,
}

/// Path: a member and a year.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberYearPath {
    /// Official regional key of the member.
    #[param(example = json!("05315000"))]
    pub member_id: String,
    /// Reporting year, 1990 to 2100.
    #[param(example = json!(2024))]
    pub year: i32,
}

/// Path: a year.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct YearPath {
    /// Reporting year, 1990 to 2100.
    #[param(example = json!(2024))]
    pub year: i32,
}

/// Path: a user account.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The account's id (`u_` and 16 hex digits).
    #[param(example = json!("u_3f9a1c0b7d2e4f51"))]
    pub user_id: String,
}

/// Path: an invitation link's code.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InvitationPath {
    /// The code, as in the link (48 hex digits).
    #[param(example = json!("8c1d4e0f9a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"))]
    pub code: String,
}

/// Path: a token.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TokenPath {
    /// The token's public id (12 hex digits, printed when it was made).
    #[param(example = json!("3f9a1c0b7d2e"))]
    pub token_id: String,
}

/// Path: a submission.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SubmissionPath {
    /// Id of the submission, as the upload answered it.
    #[param(example = json!("sub_20240301T101500_0123456789abcdef"))]
    pub submission_id: String,
}

/// Path: an archived upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UploadPath {
    /// SHA-256 of the uploaded bytes (64 hex digits), as the upload answered it.
    #[param(example = json!("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"))]
    pub sha256: String,
}

/// The request header of a conditional GET.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct ConditionalHeaders {
    /// An `ETag` of an earlier answer: while it is current the answer is
    /// 304 without a body.
    #[param(rename = "If-None-Match")]
    pub if_none_match: Option<String>,
}

/// Query of `GET /api/v1/catalog`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CatalogQuery {
    /// The catalogue of this year: only the figures asked and the key
    /// figures and rules of the year, each basic figure with the
    /// definition then. Without it, every figure of every year with its
    /// years (`valid_from`, `valid_to`) and earlier definitions.
    pub year: Option<i32>,
}

/// Query of `GET /api/v1/figures/{domain}/{year}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// The member; implied for a member token, required for admin.
    pub member_id: Option<String>,
    /// An earlier submission of the member instead of its current figures.
    pub submission_id: Option<String>,
}

/// Query of `GET /api/v1/comparisons/{domain}/{year}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComparisonQuery {
    /// Key figure id.
    #[param(example = json!("loans_per_capita"))]
    pub figure: String,
    /// `all` (default), `size_class`, `land`, `kind`, `neighbours` (the
    /// structural neighbours of the member `of` names), or a custom group
    /// id.
    #[param(example = json!("size_class"))]
    pub group_by: Option<String>,
    /// The member whose position to show; implied for a member token,
    /// required for a consultant, not allowed for an analyst.
    pub member_id: Option<String>,
    /// With `group_by=neighbours`: the member whose neighbours form the
    /// group. A member token: itself (implied); a consultant: a member
    /// that granted it access (default `member_id`); analysts and admin:
    /// any member.
    #[param(example = json!("05315000"))]
    pub of: Option<String>,
    /// Read a past state: a publication id (e.g. `library-2024-p1`), a
    /// release id (e.g. `library-2024-1`), or (admin only) a data version
    /// of the domain.
    pub as_of: Option<String>,
}

/// Query of `GET /api/v1/timeseries/{domain}/{figure}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimeseriesQuery {
    /// `all` (default), `size_class`, `land`, `kind`, `neighbours` (the
    /// structural neighbours of the member `of` names, found anew each
    /// year), or a custom group id.
    pub group_by: Option<String>,
    /// The member whose values to show; implied for a member token,
    /// required for a consultant, not allowed for an analyst.
    pub member_id: Option<String>,
    /// With `group_by=neighbours`: the member whose neighbours form the
    /// group (as for comparisons).
    pub of: Option<String>,
    /// First year.
    pub from: Option<i32>,
    /// Last year.
    pub to: Option<i32>,
    /// Read a past state: a publication or release id, or (admin only) a
    /// data version of the domain.
    pub as_of: Option<String>,
}

/// Query of `GET /api/v1/neighbours/{domain}/{year}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NeighboursQuery {
    /// The member whose neighbours to show. A member token: itself
    /// (implied); a consultant: a member that granted it access
    /// (required); analysts and admin: any member, or none for every
    /// member's neighbours.
    #[param(example = json!("05315000"))]
    pub of: Option<String>,
}

/// Query of `GET /api/v1/warnings`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WarningsQuery {
    /// Only this domain.
    pub domain: Option<String>,
    /// Only this year.
    pub year: Option<i32>,
    /// Only this member (admin); implied for a member token.
    pub member_id: Option<String>,
    /// `open` (default: unexplained only) or `all`.
    #[param(inline, example = json!("open"))]
    pub status: Option<WarningFilter>,
}

/// Query of `GET /api/v1/reports/{member_id}/{year}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The format; without it a browser (`Accept: text/html`) gets the page
    /// and every other client JSON.
    #[param(value_type = Option<ReportFormat>, inline)]
    pub format: Option<String>,
    /// Number format of the CSV: `en` (default) or `de` (semicolons,
    /// decimal comma).
    #[param(inline, example = json!("de"))]
    pub dialect: Option<CsvDialect>,
    /// Read a past state: a publication or release id, or (admin only) the
    /// data versions of every domain such as `12.7.9` (a report's
    /// `data_versions`, in catalogue order).
    pub as_of: Option<String>,
}

/// Query of `GET /web/bericht/{year}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebReportQuery {
    /// `xlsx` or `csv` (German number format) for a download; the page
    /// otherwise.
    #[param(example = json!("xlsx"))]
    pub format: Option<String>,
}

/// Query of `GET /web`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebHomeQuery {
    /// Present after an explanation was saved: the page confirms it.
    pub erklaert: Option<String>,
}

/// Query of `GET /web/anmelden/sso`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SsoStartQuery {
    /// An invitation code to accept by signing in through the provider.
    pub einladung: Option<String>,
}

/// Query of `GET /web/anmelden/sso/rueckkehr`: what the provider sends
/// back (RFC 6749 §4.1.2).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SsoReturnQuery {
    /// The authorisation code.
    pub code: Option<String>,
    /// The state the service sent.
    pub state: Option<String>,
    /// The provider's error, when it did not sign the person in.
    pub error: Option<String>,
    /// The provider's words for the error.
    pub error_description: Option<String>,
    /// The provider's issuer (RFC 9207).
    pub iss: Option<String>,
}

/// Query of `GET /web/benutzer`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebUsersQuery {
    /// Only the accounts of this member.
    pub mitglied: Option<String>,
}

/// Query of `GET /web/sammlung`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebCollectionQuery {
    /// The domain; without it and `jahr`, the chooser.
    pub bereich: Option<String>,
    /// The year.
    pub jahr: Option<i32>,
    /// Only members in this status (`not_started`, …, `approved`).
    pub status: Option<String>,
    /// Only members whose name contains this text or whose key starts with it.
    pub suche: Option<String>,
    /// The page, from 1 (200 members each).
    pub seite: Option<usize>,
    /// What was just done (shows a fixed notice).
    pub erledigt: Option<String>,
}

/// Query of `GET /web/sammlung/export`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebCollectionExportQuery {
    /// The domain.
    #[param(example = json!("library"))]
    pub bereich: String,
    /// The year.
    #[param(example = json!(2024))]
    pub jahr: i32,
    /// `csv` or `xlsx`.
    #[param(example = json!("csv"))]
    pub format: String,
    /// Only members in this status.
    pub status: Option<String>,
}

/// Query of `GET /web/sammlung/mitglied`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebMemberReviewQuery {
    /// The domain.
    #[param(example = json!("library"))]
    pub bereich: String,
    /// The year.
    #[param(example = json!(2024))]
    pub jahr: i32,
    /// The member.
    #[param(example = json!("05315000"))]
    pub mitglied: String,
    /// What was just done (shows a fixed notice).
    pub erledigt: Option<String>,
}

/// Query of `GET /web/pruefung`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebDomainYearQuery {
    /// The domain.
    #[param(example = json!("library"))]
    pub bereich: String,
    /// The year.
    #[param(example = json!(2024))]
    pub jahr: i32,
    /// What was just done (shows a fixed notice).
    pub erledigt: Option<String>,
}

/// Query of `GET /web/erfassung` and its template.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebEntryQuery {
    /// The domain; without it and `jahr`, the choice.
    pub bereich: Option<String>,
    /// The year.
    pub jahr: Option<String>,
    /// Set after a draft was saved (shows a notice).
    pub gespeichert: Option<String>,
}

/// Query of `GET /web/mitglieder`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebMembersQuery {
    /// A regional key to look up (8 digits: a municipality, 5: a Landkreis).
    pub ags: Option<String>,
}

/// Query of `GET /web/analyse`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebExplorerQuery {
    /// The domain; without it the form only.
    pub bereich: Option<String>,
    /// The year (default: last year).
    pub jahr: Option<i32>,
    /// The key figure (default: the domain's first).
    pub kennzahl: Option<String>,
    /// A dimension (`all`, `size_class`, `land`, `kind`) or a custom
    /// group's id (default `size_class`).
    pub gruppierung: Option<String>,
}
