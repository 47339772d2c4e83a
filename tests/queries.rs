//! Queries (issue 3): real programs' heaps, and the answers a leak hunter needs.

use crate::util::{json, json_code, run, stdout, Workdir};
use refgraph::query::chain::ChainAnswer;
use refgraph::query::diff::Growth;
use refgraph::query::find::Found;
use refgraph::query::orphans::Orphans;
use refgraph::query::show::Shown;
use refgraph::query::types::TypeStat;

fn first_chain(snap: &str, obj: &str) -> refgraph::query::chain::ChainView {
    let answers: Vec<ChainAnswer> = json(&["chain", snap, obj]);
    answers[0].chains[0].clone()
}

#[test]
fn module_level_cache_dict() {
    let w = Workdir::new();
    let snap = w.capture("cache_dict.py", &[]);
    let chain = first_chain(&snap, "type:Session");
    assert!(
        chain.path.starts_with("appcache._sessions['user:"),
        "{}",
        chain.path
    );
    assert!(
        chain
            .text
            .starts_with("module appcache → .__dict__['_sessions'] → dict['user:"),
        "{}",
        chain.text
    );
    assert!(chain.text.ends_with("→ Session"), "{}", chain.text);
    let text = stdout(&["chain", &snap, "type:Session", "--limit", "1"]);
    assert!(
        text.contains("module appcache → .__dict__['_sessions'] → dict['user:"),
        "{text}"
    );
}

#[test]
fn closure_cell_in_a_handler_list() {
    let w = Workdir::new();
    let snap = w.capture("closure_handler.py", &[]);
    let chain = first_chain(&snap, "type:Payload");
    assert_eq!(
        chain.path,
        "__main__.handlers[0].__closure__[0].cell_contents"
    );
}

#[test]
fn bound_method_in_a_callback_registry() {
    let w = Workdir::new();
    let snap = w.capture("bound_method.py", &[]);
    let chain = first_chain(&snap, "type:Widget");
    assert_eq!(chain.path, "__main__.callbacks['click'].__self__");
}

#[test]
fn class_attribute_list() {
    let w = Workdir::new();
    let snap = w.capture("class_attr.py", &[]);
    let chain = first_chain(&snap, "type:Item");
    assert!(
        chain.path.starts_with("__main__.Registry.instances["),
        "{}",
        chain.path
    );
    let found: Found = json(&["find", &snap, "Item"]);
    assert_eq!(found.total, 10);
    let found: Found = json(&["find", &snap, "__main__.Item"]);
    assert_eq!(found.total, 10, "qualified names select too");
}

#[test]
fn all_chains_show_every_distinct_holder() {
    let w = Workdir::new();
    let snap = w.capture("bound_method.py", &[]);
    // The Widget's class is held by the module dict and by the instance: --all lists each
    // direct holder once, shortest first.
    let answers: Vec<ChainAnswer> = json(&["chain", &snap, "type:type", "--all", "--limit", "3"]);
    assert!(!answers.is_empty());
    let widget: Vec<ChainAnswer> = json(&["chain", &snap, "type:Widget", "--all"]);
    assert_eq!(widget[0].chains.len(), 1, "one holder: the bound method");
    // Ignoring that holder leaves the instance without a chain: exit 1.
    let widget_shown: Shown = json(&["show", &snap, "type:Widget"]);
    let id = &widget_shown.referrers[0].object.id;
    let ignored: Vec<ChainAnswer> = json_code(&["chain", &snap, "type:Widget", "--ignore", id], 1);
    assert!(ignored[0].chains.is_empty());
}

#[test]
fn forward_chain_finds_a_type_below_an_object() {
    let w = Workdir::new();
    let snap = w.capture("cache_dict.py", &[]);
    let answers: Vec<ChainAnswer> = json(&[
        "chain",
        &snap,
        "type:module",
        "--limit",
        "200",
        "--forward",
        "--to",
        "Session",
    ]);
    let found = answers
        .iter()
        .flat_map(|a| &a.chains)
        .next()
        .expect("a module reaches a Session");
    assert_eq!(found.steps.last().unwrap().object.type_name, "Session");
}

#[test]
fn a_200000_long_linked_list_chains_without_recursion() {
    let w = Workdir::new();
    let id_file = w.arg("tail.txt");
    let snap = w.capture("linked_list.py", &[&id_file]);
    let tail = std::fs::read_to_string(&id_file).unwrap();
    let answers: Vec<ChainAnswer> = json(&["chain", &snap, &tail]);
    let chain = &answers[0].chains[0];
    assert_eq!(chain.path, "__main__.head(.next ×199,999)");
    assert!(
        chain.text.ends_with("→ Node.next ×199,999 → Node"),
        "{}",
        chain.text
    );
    assert_eq!(
        chain.steps.len(),
        200_000 + 2,
        "module, its dict, then every node"
    );
    stdout(&["summary", &snap]);
    stdout(&["orphans", &snap]);
}

#[test]
fn types_counts_and_sizes() {
    let w = Workdir::new();
    let snap = w.capture("class_attr.py", &[]);
    let stats: Vec<TypeStat> = json(&["types", &snap, "--limit", "0"]);
    let item = stats
        .iter()
        .find(|s| s.type_name == "Item")
        .expect("Item counted");
    assert_eq!(item.count, 10);
    let long: Vec<TypeStat> = json(&["types", &snap, "--limit", "0", "--longnames"]);
    assert!(long.iter().any(|s| s.type_name == "__main__.Item"));
    let by_size: Vec<TypeStat> = json(&["types", &snap, "--sort", "size", "--limit", "5"]);
    assert!(by_size.windows(2).all(|p| p[0].size >= p[1].size));
    let text = stdout(&["types", &snap]);
    assert!(text.lines().next().unwrap().starts_with("type"), "{text}");
}

#[test]
fn show_lists_both_directions_with_labels() {
    let w = Workdir::new();
    let snap = w.capture("slots_cycle.py", &[]);
    let parent: Shown = json(&["show", &snap, "type:Parent"]);
    let edges: Vec<_> = parent
        .referents
        .iter()
        .filter_map(|n| n.edge.clone())
        .collect();
    assert!(
        edges.contains(&".child".to_string()) && edges.contains(&".name".to_string()),
        "{edges:?}"
    );
    assert!(parent
        .referrers
        .iter()
        .any(|n| n.edge.as_deref() == Some(".parent")));
    assert_eq!(parent.held_by.unwrap().path, "__main__.family");
}

#[test]
fn diff_shows_a_thousand_leaked_instances() {
    let w = Workdir::new();
    let dir = w.dumper_dir();
    let (a, b) = (w.arg("a.rgsnap"), w.arg("b.rgsnap"));
    w.python("grow.py", &[&dir, &a, &b]);
    let growth: Growth = json(&["diff", &a, &b, "--new", "Leaked"]);
    let leaked = growth
        .types
        .iter()
        .find(|t| t.type_name == "Leaked")
        .expect("Leaked grew");
    assert_eq!(
        (leaked.old_count, leaked.new_count, leaked.delta),
        (0, 1000, 1000)
    );
    let rank = growth
        .types
        .iter()
        .position(|t| t.type_name == "Leaked")
        .unwrap();
    assert!(
        rank < 3,
        "the leak is at the top of the growth list: {:?}",
        &growth.types[..4]
    );
    assert_eq!(growth.only_in_new.len(), 20);
    let text = stdout(&["diff", &a, &b]);
    assert!(text.contains("+1,000"), "{text}");
}

#[test]
fn orphans_reports_both_groups() {
    let w = Workdir::new();
    let snap = w.capture("self_list.py", &[]);
    let o: Orphans = json(&["orphans", &snap]);
    assert!(o.tracked_only);
    assert_eq!(
        o.unreferenced.count,
        o.unreferenced
            .by_type
            .iter()
            .map(|t| t.count)
            .sum::<u64>()
            .max(o.unreferenced.count)
    );
}

#[test]
fn selectors_fail_clearly() {
    let w = Workdir::new();
    let snap = w.capture("self_list.py", &[]);
    let out = run(&["chain", &snap, "0x1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "refgraph: no object 0x1 in the snapshot\n"
    );
    let out = run(&["chain", &snap, "type:NoSuchType"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["chain", &snap, "bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn cycles_finds_the_seed_cycle_as_garbage_and_user_cycles_as_alive() {
    let w = Workdir::new();
    let snap = w.capture("seed_cycle.py", &[]);
    let found: refgraph::query::cycles::Cycles = json(&["cycles", &snap, "--limit", "1"]);
    let top = &found.cycles[0];
    assert_eq!(top.members, 2);
    assert!(top.garbage && top.collector_flagged && top.held_by.is_none());
    let labels: Vec<_> = top
        .edges
        .iter()
        .map(|e| e.label.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        labels,
        ["[200000]", "[200000]"],
        "each list holds the other as its last item"
    );
    let w2 = Workdir::new();
    let slots = w2.capture("slots_cycle.py", &[]);
    let found: refgraph::query::cycles::Cycles = json(&["cycles", &slots, "--type", "Parent"]);
    assert_eq!(found.cycles.len(), 1);
    assert_eq!(
        found.cycles[0].held_by.as_ref().unwrap().path,
        "__main__.family"
    );
    let looped = w2.capture("self_list.py", &[]);
    let found: refgraph::query::cycles::Cycles =
        json(&["cycles", &looped, "--type", "list", "--limit", "50"]);
    assert!(found
        .cycles
        .iter()
        .any(|c| c.members == 1 && c.edges.iter().any(|e| e.label.as_deref() == Some("[2]"))));
}

#[test]
fn top_names_the_global_list_as_the_accumulation_point() {
    let w = Workdir::new();
    let snap = w.capture("seed_global.py", &[]);
    let top: refgraph::query::retained::TopAnswer = json(&["top", &snap]);
    let suspect = &top.suspects[0];
    let acc = &suspect.accumulation;
    assert_eq!(acc.object.label.as_deref(), Some("200000 items"));
    assert_eq!(acc.chain.as_ref().unwrap().path, "__main__.a");
    assert!(
        acc.children_retained >= 199_000 * 28,
        "the ints are retained by the list"
    );
    let summary: refgraph::query::summary::Summary = json(&["summary", &snap]);
    assert!(
        summary.largest[0].retained >= acc.retained,
        "summary ranks by retained size"
    );
}

#[test]
fn refs_json_is_the_drawn_subgraph() {
    let w = Workdir::new();
    let snap = w.capture("self_list.py", &[]);
    let found: refgraph::query::cycles::Cycles =
        json(&["cycles", &snap, "--type", "list", "--limit", "50"]);
    let looped = found
        .cycles
        .iter()
        .find(|c| {
            c.members == 1
                && c.held_by
                    .as_ref()
                    .is_some_and(|h| h.path == "__main__.loop")
        })
        .unwrap();
    let id = &looped.examples[0].id;
    let view: refgraph::query::subgraph::SubgraphView =
        json(&["refs", &snap, id, "--max-depth", "1"]);
    assert!(view.nodes.iter().all(|n| n.depth <= 1));
    assert!(
        view.edges
            .iter()
            .any(|e| e.label.as_deref() == Some("[2]") && e.from == e.to),
        "the list refers to itself as item 2"
    );
}

#[test]
fn cycles_are_ranked_by_what_they_retain() {
    let w = Workdir::new();
    let snap = w.capture("cycle_payload.py", &[]);
    let found: refgraph::query::cycles::Cycles = json(&["cycles", &snap, "--limit", "2"]);
    let [pair, ring] = &found.cycles[..] else {
        panic!("two cycles expected: {found:?}");
    };
    assert!(
        pair.types.iter().any(|t| t.type_name == "Node"),
        "the Node pair comes first: {pair:?}"
    );
    assert!(
        pair.retained >= 200_000 * 28 + 1_600_000,
        "the pair retains its payload list and ints: {}",
        pair.retained
    );
    assert!(
        pair.size < ring.size,
        "the ring is bigger in shallow size ({} vs {})",
        ring.size,
        pair.size
    );
    assert_eq!(ring.members, 50);
    assert!(ring.retained >= ring.size && ring.retained < pair.retained);
    let text = stdout(&["cycles", &snap, "--limit", "1"]);
    assert!(text.contains("(retains "), "{text}");
}

/// Feed `input` to `refgraph shell SNAP --timings`; (exit code, stdout, stderr).
fn shell(snap: &str, input: &str) -> (Option<i32>, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = crate::util::refgraph()
        .args(["shell", snap, "--timings"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("refgraph shell starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .expect("the shell reads its input");
    let out = child.wait_with_output().expect("the shell ends");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_shell_answers_as_the_commands_do_from_one_load() {
    let w = Workdir::new();
    let snap = w.capture("seed_global.py", &[]);
    let alone: Vec<String> = [
        &["types", &snap, "--limit", "5"][..],
        &["find", &snap, "NoSuchType"][..],
        &["top", &snap, "--limit", "3"][..],
        &["find", &snap, "list", "--limit", "3", "--sort", "size"][..],
        &["cycles", &snap, "--limit", "2"][..],
    ]
    .iter()
    .map(|args| String::from_utf8_lossy(&run(args).stdout).into_owned())
    .collect();
    let input = "types --limit 5\n# a comment\n\nfind NoSuchType\ntop --limit 3\n\
                 find list --limit 3 --sort size\ncycles --limit 2\n";
    let (code, out, err) = shell(&snap, input);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out, alone.concat(), "the same answers, in order");
    assert_eq!(err.matches("answered in").count(), 5, "{err}");
    assert!(
        err.contains("NoSuchType"),
        "nothing found is not a failure: {err}"
    );

    let (code, out, err) = shell(
        &snap,
        "help\nfrobnicate\ntypes --bogus\ntypes --limit 1\nquit\ntypes\n",
    );
    assert_eq!(code, Some(2), "a failed line is exit 2 for scripts: {err}");
    assert!(out.contains("commands (the snapshot is implied)"), "{out}");
    assert!(err.contains("unknown command `frobnicate`"), "{err}");
    assert!(err.contains("--bogus"), "{err}");
    assert_eq!(
        out.matches("type ").count(),
        1,
        "one types answer, none after quit: {out}"
    );

    let (code, _, err) = shell(&w.arg("missing.rgsnap"), "types\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("missing.rgsnap"), "{err}");
}
