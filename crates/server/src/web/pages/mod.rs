//! The pages of the member web page, each a function from what it shows to
//! its HTML (`maud::Markup`, escaped by default). They do no I/O: the
//! handlers in `web/mod.rs` fetch what a page shows and send what it
//! returns.

mod colleagues;
mod collection;
mod disclosure;
mod entry;
mod explain;
mod labels;
mod login;
mod members;
mod overview;
mod reminders;
mod second_factor;
mod tokens;
mod upload;
mod users;

pub(crate) use colleagues::colleagues;
pub(crate) use collection::{
    CollectionView, PAGE_ROWS, collection, collections_home, member_review, review_queue,
    url_encode,
};
pub(crate) use disclosure::disclosure;
pub(crate) use entry::{EntryField, EntryPage, entry, entry_chooser, field_name};
pub(crate) use labels::domain_label;
pub(crate) use labels::rule_message_de;
pub(crate) use login::{
    forgot_password, invitation, login, new_password, password_set, signed_in_through_sso,
};
pub(crate) use members::{MembersView, members};
pub(crate) use overview::{MemberCollection, SubmissionRow, overview};
pub(crate) use reminders::{ReminderForm, reminder_form, reminders};
pub(crate) use second_factor::{code_form, enrol, enrolled, recovery_codes};
pub(crate) use tokens::tokens;
pub(crate) use upload::{upload_frozen, upload_refused, upload_saved};
pub(crate) use users::{Invited, account_home, admin_users};

/// The current calendar year (UTC): the upload form offers the ten years
/// before it, the overview lists submissions back to ten years before it.
pub(crate) fn this_year() -> i32 {
    use chrono::Datelike;
    chrono::Utc::now().year()
}
