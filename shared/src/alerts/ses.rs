//! [`Mailer`] through Amazon SES (API v2 `SendEmail`), from one verified sender.

use std::sync::OnceLock;

use async_trait::async_trait;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::mail::{Email, MailError, Mailer};

pub struct SesMailer {
    config: aws_sdk_sesv2::Config,
    /// Built at the first email: a client loads SES's endpoint rules, which a cold start
    /// that sends nothing should not pay for.
    client: OnceLock<aws_sdk_sesv2::Client>,
    from: String,
}

impl SesMailer {
    pub fn new(config: aws_sdk_sesv2::Config, from: &str) -> Self {
        Self {
            config,
            client: OnceLock::new(),
            from: from.to_string(),
        }
    }

    fn client(&self) -> &aws_sdk_sesv2::Client {
        self.client
            .get_or_init(|| aws_sdk_sesv2::Client::from_conf(self.config.clone()))
    }
}

fn utf8(text: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Refused(e.to_string()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        let message = Message::builder()
            .subject(utf8(&email.subject)?)
            .body(Body::builder().text(utf8(&email.text)?).build())
            .build();
        let sent = self
            .client()
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(classify)?;
        Ok(sent.message_id().unwrap_or_default().to_string())
    }
}

fn classify(error: SdkError<SendEmailError>) -> MailError {
    let text = crate::aws::describe_error(&error);
    match &error {
        SdkError::ServiceError(e) => match e.err() {
            SendEmailError::MessageRejected(_)
            | SendEmailError::MailFromDomainNotVerifiedException(_)
            | SendEmailError::AccountSuspendedException(_)
            | SendEmailError::SendingPausedException(_)
            | SendEmailError::BadRequestException(_)
            | SendEmailError::NotFoundException(_) => MailError::Refused(text),
            _ => MailError::Unavailable(text),
        },
        _ => MailError::Unavailable(text),
    }
}
