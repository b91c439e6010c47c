//! Sending an email: the port the alerts use, with Amazon SES behind it in deployments.

use async_trait::async_trait;

/// A plain-text email to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail service will not send it as asked (an unverified sender, a suspended
    /// account, an address it refuses): trying again will not help.
    #[error("the email was refused: {0}")]
    Refused(String),
    /// The mail service could not be reached or asked us to slow down: try again later.
    #[error("the mail service is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends the email; the mail service's message id.
    async fn send(&self, email: &Email) -> Result<String, MailError>;
}
