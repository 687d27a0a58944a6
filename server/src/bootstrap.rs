//! First start: when the database has no organization, make one with an admin user and reveal its secrets once.

use crate::config::Config;
use crate::hub::{HubService, NewOrganization};
use crate::store::audit::Actor;
use app::error::HubError;
use secrecy::ExposeSecret;

/// The name of the organization made on first start.
pub const FIRST_ORGANIZATION: &str = "Tether";

/// Makes the first organization, account and admin user, unless an organization exists already.
pub async fn first_start(hub: &HubService, config: &Config) -> Result<Option<NewOrganization>, HubError> {
    use crate::hub::OrInternal;
    if hub.store().count_organizations().await.or_internal()? > 0 {
        return Ok(None);
    }
    hub.create_organization(FIRST_ORGANIZATION, &config.server.admin_email, &Actor::System).await.map(Some)
}

/// The message that shows how to sign in and use the API, printed once to standard output.
pub fn welcome_message(made: &NewOrganization, console_url: &str) -> String {
    let organization_secret = made.organization_secret.expose_secret();
    let user_secret = made.user_secret.expose_secret();
    format!(
        "\n\
         First start: made organization \"{organization}\" (id {organization_id}), account \"{account}\" and an admin user.\n\
         \n\
         Sign in to the console at {console_url}\n\
         \x20 email:    {email}\n\
         \x20 password: {password}\n\
         \n\
         REST API secrets (shown only now; Tether keeps only their hashes):\n\
         \x20 organization secret: {organization_secret}\n\
         \x20 user secret:         {user_secret}\n\
         \x20 Authorization: User {user_secret}, Organization {organization_secret}\n\
         \n\
         Forgot the password? `tether admin reset-password --email {email}` sets a new one.\n",
        organization = made.organization.name,
        organization_id = made.organization.id,
        account = made.account.name,
        email = made.admin.email_address,
        password = made.password.expose_secret(),
    )
}
