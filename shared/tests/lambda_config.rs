//! The SDK configuration a function builds from the Lambda runtime's variables, used against
//! the emulator exactly as production uses it against AWS.

use std::collections::HashMap;

use hookhub_shared::aws::{lambda_sdk_config, AwsClients};
use hookhub_shared::local_stack::{test_endpoint, TestStack};

fn lambda_variables() -> HashMap<&'static str, String> {
    HashMap::from([
        ("AWS_LAMBDA_FUNCTION_NAME", "hookhub-admin-api".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEROLEKEY".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "role-secret".to_string()),
        ("AWS_SESSION_TOKEN", "role-session-token".to_string()),
        ("AWS_ENDPOINT_URL", test_endpoint()),
    ])
}

#[tokio::test]
async fn clients_from_the_lambda_variables_reach_the_table_queue_and_key() {
    let stack = TestStack::new("lambda-env").await;
    let vars = lambda_variables();
    let sdk = lambda_sdk_config(|name| vars.get(name).cloned()).expect("a Lambda environment");
    assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-1"));
    let clients = AwsClients::from_sdk_config(&sdk);
    let table = clients
        .dynamodb
        .describe_table()
        .table_name(&stack.stack.table_name)
        .send()
        .await
        .expect("DescribeTable, signed with the role's credentials");
    assert_eq!(
        table.table().and_then(|t| t.table_name()),
        Some(stack.stack.table_name.as_str())
    );
    clients
        .sqs
        .get_queue_attributes()
        .queue_url(&stack.stack.queue_url)
        .send()
        .await
        .expect("GetQueueAttributes");
    clients
        .kms
        .describe_key()
        .key_id(&stack.stack.kms_key_id)
        .send()
        .await
        .expect("DescribeKey");
}

#[test]
fn without_any_lambda_variable_the_standard_chain_decides() {
    for missing in [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        let mut vars = lambda_variables();
        vars.remove(missing);
        assert!(
            lambda_sdk_config(|name| vars.get(name).cloned()).is_none(),
            "without {missing}"
        );
    }
    let mut vars = lambda_variables();
    vars.remove("AWS_REGION");
    vars.insert("AWS_DEFAULT_REGION", "eu-west-1".into());
    let sdk = lambda_sdk_config(|name| vars.get(name).cloned()).expect("the default region");
    assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
}
