//! Zendesk and Segment: CPU time of verify + parse, side by side with the floor, an HMAC over
//! the same bytes (the scheme's own hash: HMAC-SHA256 for Zendesk over timestamp + body,
//! HMAC-SHA1 for Segment over the whole batch). Zendesk per event (an event-subscription body
//! and a trigger body from `events/zendesk`); Segment per message of a 1000-message batch
//! (Segment signs only the batch's first element, so its real verify is cheaper than the
//! floor; the parse reads every byte).
//!
//! Run: `bash infra/bench.sh`, or `cargo bench -p foresight-shared --bench webhook_parsing`
//! (no local services). Timing method: `benches/common/mod.rs`; `FORESIGHT_BENCH_REPS` sets the
//! repetitions (7).

mod common;

use common::{line, print_machine, repetition, repetitions, Subject};
use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
use foresight_shared::sources::segment::{self, signature as segment_signature};
use foresight_shared::sources::zendesk::{self as zendesk_source, signature as zendesk_signature};
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderValue};
use serde_json::json;
use std::hint::black_box;

const ZENDESK_SECRET: &str = "zendesk_bench_secret";
const SEGMENT_SECRET: &str = "segment_bench_secret";
const MESSAGES: usize = 1000;
/// The index of the first Segment subject (the Zendesk ones come first).
const SEGMENT: usize = 6;

fn zendesk_request(body: &[u8], now: i64) -> HeaderMap {
    let timestamp =
        chrono::DateTime::from_timestamp(now, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let signature = zendesk_signature::compute_signature(ZENDESK_SECRET, &timestamp, body);
    let mut headers = HeaderMap::new();
    headers.insert("x-zendesk-webhook-signature", HeaderValue::from_str(&signature).unwrap());
    headers.insert("x-zendesk-webhook-signature-timestamp", HeaderValue::from_str(&timestamp).unwrap());
    headers.insert("x-zendesk-webhook-invocation-id", HeaderValue::from_static("inv_bench"));
    headers
}

/// A batch as Segment's destinations send it: compact JSON, messages for 5 accounts.
fn segment_batch(now: i64) -> Vec<u8> {
    let messages: Vec<serde_json::Value> = (0..MESSAGES)
        .map(|i| {
            json!({"type": "track", "event": "Report Exported", "userId": format!("user-{}", i % 40),
                   "anonymousId": null, "messageId": format!("{:08x}-{i:04}-4000-8000-000000000000", i * 7919),
                   "timestamp": chrono::DateTime::from_timestamp(now + i as i64, 0).unwrap().to_rfc3339(),
                   "properties": {"format": "csv", "rows": i * 3},
                   "context": {"groupId": format!("acct_{}", i % 5), "library": {"name": "analytics.js", "version": "5.2.0"}}})
        })
        .collect();
    serde_json::to_vec(&messages).unwrap()
}

fn main() {
    let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/zendesk");
    let zendesk_event = std::fs::read(events.join("02-acme-event-ticket-102-created.json")).unwrap();
    let zendesk_trigger = std::fs::read(events.join("01-acme-trigger-ticket-101-created.json")).unwrap();
    let now = foresight_shared::runtime::clock::unix_now();
    let zendesk = ZendeskWebhook::new(Some(ZENDESK_SECRET.into()));
    let event_headers = zendesk_request(&zendesk_event, now);
    let trigger_headers = zendesk_request(&zendesk_trigger, now);
    let timestamp = event_headers["x-zendesk-webhook-signature-timestamp"].to_str().unwrap().to_owned();

    let batch = segment_batch(now);
    let first = segment_signature::signed_bytes(&batch).unwrap();
    let segment_sig = segment_signature::compute_signature(SEGMENT_SECRET, first);

    print_machine();
    println!(
        "zendesk: event-subscription body {} bytes, trigger body {} bytes; segment: {MESSAGES}-message batch {} bytes ({} per message)",
        zendesk_event.len(),
        zendesk_trigger.len(),
        batch.len(),
        batch.len() / MESSAGES
    );
    let mut subjects = vec![
        Subject::new("zendesk event: verify + parse", || {
            black_box(zendesk.prepare(black_box(&event_headers), black_box(&zendesk_event), now).unwrap());
        }),
        Subject::new("zendesk event: HMAC-SHA256 (floor)", || {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(ZENDESK_SECRET.as_bytes()).unwrap();
            mac.update(timestamp.as_bytes());
            mac.update(black_box(&zendesk_event));
            black_box(mac.finalize());
        }),
        Subject::new("zendesk event: verify alone", || {
            let h = black_box(&event_headers);
            let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
            black_box(
                zendesk_signature::verify(
                    header("x-zendesk-webhook-signature"),
                    header("x-zendesk-webhook-signature-timestamp"),
                    black_box(&zendesk_event),
                    ZENDESK_SECRET,
                    now,
                )
                .unwrap(),
            );
        }),
        Subject::new("zendesk event: parse alone", || {
            black_box(zendesk_source::parse(black_box(&zendesk_event), Some("inv_bench"), now).unwrap());
        }),
        Subject::new("zendesk trigger: verify + parse", || {
            black_box(zendesk.prepare(black_box(&trigger_headers), black_box(&zendesk_trigger), now).unwrap());
        }),
        Subject::new("zendesk trigger: HMAC-SHA256 (floor)", || {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(ZENDESK_SECRET.as_bytes()).unwrap();
            mac.update(timestamp.as_bytes());
            mac.update(black_box(&zendesk_trigger));
            black_box(mac.finalize());
        }),
        Subject::new("segment batch: verify + parse", || {
            segment_signature::verify(Some(&segment_sig), black_box(&batch), SEGMENT_SECRET).unwrap();
            black_box(segment::parse(black_box(&batch)).unwrap());
        }),
        Subject::new("segment batch: verify (first element)", || {
            segment_signature::verify(Some(&segment_sig), black_box(&batch), SEGMENT_SECRET).unwrap();
        }),
        Subject::new("segment batch: HMAC-SHA1 of it all (floor)", || {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SEGMENT_SECRET.as_bytes()).unwrap();
            mac.update(black_box(&batch));
            black_box(mac.finalize());
        }),
    ];
    // Per message for the batch figures.
    let per = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, MESSAGES as f64, MESSAGES as f64, MESSAGES as f64];
    let reps = repetitions();
    let mut medians: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    for rep in 1..=reps {
        let timings = repetition(&mut subjects);
        for ((m, t), per) in medians.iter_mut().zip(&timings).zip(per) {
            m.push(t.median / per);
        }
        println!(
            "repetition {rep}/{reps}: zendesk event {:.2} µs ({:.2}x its HMAC), segment {:.0} ns per message ({:.2}x the HMAC)",
            timings[0].median / 1000.0,
            timings[0].median / timings[1].median,
            timings[SEGMENT].median / MESSAGES as f64,
            timings[SEGMENT].median / timings[SEGMENT + 2].median
        );
    }
    println!("over {reps} repetitions (each the median of {} short runs):", common::RUNS);
    for ((s, m), per) in subjects.iter().zip(&medians).zip(per) {
        let unit = if per > 1.0 { "ns/msg" } else { "ns/event" };
        println!("  {}", line(s.name, m, unit));
    }
    let json_figure = |i: usize| common::median(&medians[i]);
    println!(
        "{{\"impl\":\"foresight-webhooks\",\"repetitions\":{reps},\"zendesk_event_ns\":{:.0},\"zendesk_event_hmac_ns\":{:.0},\"zendesk_trigger_ns\":{:.0},\"zendesk_trigger_hmac_ns\":{:.0},\"segment_ns_per_message\":{:.1},\"segment_verify_ns_per_message\":{:.1},\"segment_hmac_ns_per_message\":{:.1},\"zendesk_event_verify_ns\":{:.0},\"zendesk_event_parse_ns\":{:.0}}}",
        json_figure(0),
        json_figure(1),
        json_figure(4),
        json_figure(5),
        json_figure(SEGMENT),
        json_figure(SEGMENT + 1),
        json_figure(SEGMENT + 2),
        json_figure(2),
        json_figure(3)
    );
}
