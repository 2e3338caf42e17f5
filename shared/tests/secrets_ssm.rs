//! Secrets from SSM Parameter Store (SecureString, decrypted) against the moto server: one
//! `GetParameters` for a function's secrets, a missing parameter is an unconfigured secret,
//! and nothing prints a value.

use aws_config::Region;
use aws_credential_types::Credentials;
use aws_sdk_ssm::types::ParameterType;
use foresight_shared::runtime::secrets::{self, Secrets};

async fn ssm_client() -> aws_sdk_ssm::Client {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SSM").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL_SSM is not set: this test needs the moto server (`bash infra/local-stack.sh start`, then `eval \"$(bash infra/local-stack.sh env)\"`)")
    });
    let config = foresight_shared::runtime::aws::config_loader()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "foresight-tests"))
        .endpoint_url(endpoint)
        .load()
        .await;
    aws_sdk_ssm::Client::new(&config)
}

#[test]
fn a_variable_names_its_parameter_under_the_path() {
    assert_eq!(
        secrets::parameter_name("/foresight/prod/", "STRIPE_WEBHOOK_SECRET"),
        "/foresight/prod/stripe-webhook-secret"
    );
    assert_eq!(secrets::parameter_name("/fs", "SLACK_BOT_TOKEN"), "/fs/slack-bot-token");
}

#[tokio::test]
async fn secure_strings_are_read_decrypted_and_missing_ones_are_unconfigured() {
    let client = ssm_client().await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let path = format!("/foresight-test/{nanos}");
    for (var, value) in [("STRIPE_WEBHOOK_SECRET", "whsec_from_ssm"), ("HUBSPOT_TOKEN", "pat-from-ssm")] {
        client
            .put_parameter()
            .name(secrets::parameter_name(&path, var))
            .value(value)
            .r#type(ParameterType::SecureString)
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto SSM PutParameter: {}", aws_sdk_ssm::error::DisplayErrorContext(e)));
    }
    let vars = [
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_WEBHOOK_SECRET_PREVIOUS",
        "HUBSPOT_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_WEBHOOK_URL",
        "SALESFORCE_CLIENT_SECRET",
        "ZENDESK_WEBHOOK_SECRET",
        "SEGMENT_SHARED_SECRET",
        "SEGMENT_BEARER_TOKEN",
        "A_TENTH",
        "AN_ELEVENTH",
    ];
    let loaded = secrets::from_ssm(&client, &path, &vars).await.expect("read from moto");
    assert_eq!(loaded.get("STRIPE_WEBHOOK_SECRET").as_deref(), Some("whsec_from_ssm"));
    assert_eq!(loaded.get("HUBSPOT_TOKEN").as_deref(), Some("pat-from-ssm"));
    assert_eq!(loaded.get("STRIPE_WEBHOOK_SECRET_PREVIOUS"), None, "a parameter that does not exist");
    let printed = format!("{loaded:?}");
    assert!(printed.contains("STRIPE_WEBHOOK_SECRET") && !printed.contains("whsec_from_ssm"), "{printed}");
}

#[test]
fn locally_a_secret_is_its_environment_variable() {
    let loaded = Secrets::from_env(&["PATH", "FORESIGHT_SURELY_UNSET_VARIABLE"]);
    assert!(loaded.get("PATH").is_some());
    assert_eq!(loaded.get("FORESIGHT_SURELY_UNSET_VARIABLE"), None);
}

/// A webhook deployed before its signing secret exists (Stripe shows the secret only once the
/// endpoint points at the deployed URL) picks the secret up once it is stored, without a
/// redeploy; a configured secret is not re-read.
#[tokio::test]
async fn a_missing_secret_is_picked_up_once_stored_and_a_present_one_is_kept() {
    use foresight_shared::runtime::secrets::{SecretBound, SecretSource};
    use std::time::Duration;
    const VARS: &[&str] = &["ZENDESK_WEBHOOK_SECRET"];
    let client = ssm_client().await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let path = format!("/foresight-reload/{nanos}");
    let put = |value: &'static str| {
        let (client, name) = (client.clone(), secrets::parameter_name(&path, VARS[0]));
        async move {
            client
                .put_parameter()
                .name(name)
                .value(value)
                .r#type(ParameterType::SecureString)
                .overwrite(true)
                .send()
                .await
                .unwrap_or_else(|e| panic!("moto SSM PutParameter: {}", aws_sdk_ssm::error::DisplayErrorContext(e)));
        }
    };
    let bound = |retry_after: Duration| {
        SecretBound::load(
            SecretSource::Ssm { client: client.clone(), path: path.clone() },
            VARS,
            |s: &Secrets| s.get(VARS[0]),
            Option::is_some,
            retry_after,
        )
    };
    let soon = bound(Duration::ZERO).await.expect("load from moto");
    let later = bound(Duration::from_secs(3600)).await.expect("load from moto");
    assert_eq!(*soon.current().await, None, "not stored yet");

    put("first").await;
    assert_eq!(soon.current().await.as_deref(), Some("first"), "picked up once stored");
    assert_eq!(*later.current().await, None, "not asked again before retry_after");

    put("second").await;
    assert_eq!(soon.current().await.as_deref(), Some("first"), "a configured secret is kept");
}
