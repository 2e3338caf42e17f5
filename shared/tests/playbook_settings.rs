//! `[email]` and `[[playbooks]]` in `foresight.toml`: the shipped example parses with its
//! playbooks; every mistake (unknown trigger, action, role, tier, template; a template that does
//! not render) is an error naming the field.

use foresight_shared::app::settings::Settings;

/// The error of a text, as the runner and the playbooks function see it (templates checked).
fn err(text: &str) -> String {
    Settings::parse(text, "f.toml").and_then(|s| s.check_templates("f.toml").map(|()| s)).unwrap_err().to_string()
}

const EMAIL: &str = "[email]\nfrom = \"Success <success@acme.example>\"\n";

#[test]
fn the_shipped_example_parses_with_its_playbooks() {
    let example = include_str!("../../foresight.example.toml");
    let s = Settings::parse(example, "foresight.example.toml").unwrap();
    assert!(s.playbooks.playbooks.len() >= 5, "{:?}", s.playbooks.playbooks);
    assert!(s.playbooks.email.quiet_hours.is_some());
}

#[test]
fn playbook_mistakes_name_the_field() {
    let pb = |body: &str| format!("{EMAIL}[[playbooks]]\nname = \"p\"\n{body}\n");
    let e = err(&pb("trigger = { bogus = 1 }\nactions = [{ type = \"slack\" }]"));
    assert!(e.contains("playbooks[0].trigger") && e.contains("bogus"), "{e}");
    let e = err(&pb("trigger = { alert = \"nope\" }\nactions = [{ type = \"slack\" }]"));
    assert!(e.contains("playbooks[0].trigger.alert") && e.contains("nope"), "{e}");
    let e = err(&pb("trigger = { days_since_start = 3 }\nactions = [{ type = \"fax\" }]"));
    assert!(e.contains("playbooks[0].actions[0].type") && e.contains("fax"), "{e}");
    let e = err(&pb(
        "trigger = { days_since_start = 3 }\nactions = [{ type = \"email\", to = \"ceo\", template = \"welcome\" }]",
    ));
    assert!(e.contains("playbooks[0].actions[0].to") && e.contains("ceo"), "{e}");
    let e = err(&pb(
        "trigger = { days_since_start = 3 }\nactions = [{ type = \"email\", to = \"admin\", template = \"nope\" }]",
    ));
    assert!(e.contains("playbooks[0].actions[0].template") && e.contains("nope"), "{e}");
    let e = err(&pb("trigger = { days_since_start = 3 }\nactions = [{ type = \"slack\" }]"));
    assert!(e.contains("playbooks[0].actions[0].type") && e.contains("alert trigger"), "{e}");
    let e = err(&pb("trigger = { days_since_start = 3 }\naudience = { tiers = [\"vip\"] }\nactions = [{ type = \"webhook\", url = \"https://x.example/h\" }]"));
    assert!(e.contains("playbooks[0].audience.tiers") && e.contains("vip"), "{e}");
    // A template that does not render (an undefined variable) stops the start, naming it.
    let broken = format!(
        "{EMAIL}[email.templates.oops.en]\ntext = \"Subject: hi {{{{ account.nmae.first }}}}\\n\\nbody\"\nhtml = \"<p>x</p>\"\n[email.templates.oops.ja]\ntext = \"Subject: x\\n\\ny\"\nhtml = \"<p>x</p>\"\n[[playbooks]]\nname = \"p\"\ntrigger = {{ days_since_start = 1 }}\nactions = [{{ type = \"email\", to = \"admin\", template = \"oops\" }}]\n"
    );
    let e = err(&broken);
    assert!(e.contains("playbooks[0].actions[0].template") && e.contains("does not render"), "{e}");
    // Functions that never render read the same file without compiling its templates.
    assert!(Settings::parse(&broken, "f.toml").is_ok(), "parsing alone does not render");
    let e = err("[email]\nquiet_hours = { start = \"8pm\", end = \"08:00\" }\n");
    assert!(e.contains("email.quiet_hours.start"), "{e}");
    let e = err("[[playbooks]]\nname = \"p\"\ntrigger = { days_since_start = 1 }\nactions = [{ type = \"email\", to = \"admin\", template = \"welcome\" }]\n");
    assert!(e.contains("email.from"), "{e}");
}
