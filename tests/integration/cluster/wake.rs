//! Nodes wait to be woken instead of asking PostgreSQL for work twice a second: each listens
//! for the notifications the database sends when work is queued (`cms_core::db::wake`), so an
//! idle node costs the database next to nothing, and work queued through one node is heard by
//! all of them.

use std::time::Duration;

use super::shared::api_post;
use super::{Cluster, request};

const TOKEN: &str = "scrape-token-for-the-cluster-test";

/// The value of `name` (a counter or gauge without labels) on `addr`'s `/metrics`.
fn metric(addr: &str, name: &str) -> u64 {
    let auth = format!("Bearer {TOKEN}");
    let (status, _, body) = request(addr, "GET", "/metrics", &[("Authorization", &auth)], "");
    assert_eq!(status, 200, "/metrics on {addr}");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("{name} not in\n{body}")) as u64
}

#[test]
fn idle_nodes_wait_to_be_woken_and_every_node_hears_the_work() {
    let c = Cluster::start(&[("metrics", TOKEN)]);
    let nodes: Vec<String> = c.nodes.iter().map(|n| n.addr.clone()).collect();
    for addr in &nodes {
        c.wait("every node listening", Duration::from_secs(20), || {
            metric(addr, "keepsake_db_listening") == 1
        });
    }

    // What an idle node sends the database in ten seconds. A scrape costs its own statements:
    // measured by two scrapes back to back, and taken off.
    let statements = |addr: &str| metric(addr, "keepsake_db_statements_total");
    let idle = Duration::from_secs(10);
    let first: Vec<(u64, u64)> = nodes
        .iter()
        .map(|a| {
            let x = statements(a);
            (x, statements(a) - x)
        })
        .collect();
    std::thread::sleep(idle);
    for (addr, (before, scrape)) in nodes.iter().zip(first) {
        let sent = statements(addr) - before - 2 * scrape;
        // Polling as before (every worker twice a second to every two seconds) sent 34 a
        // second; listening leaves the workers' own looks for what falls due with time
        // (retries, leases, digests, dead processes): about 4 a second.
        assert!(
            sent <= 80,
            "{addr} sent {sent} statements in {idle:?} while idle"
        );
    }

    // A publish through one node is heard by every node: its content version and the
    // change stream (webhooks), and the other nodes' pages show it.
    let token = crate::api::token(&c.env, "writer", &["posts:write"]);
    publish_heard_by_all(&c, &nodes, 0, &token, "Heard everywhere");

    // The listening connections cut by the server (a restart, an administrator): each node
    // polls meanwhile, listens again on a new connection, and hears the next publish.
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let listening = || -> Vec<i32> {
        diesel::sql_query(
            "SELECT pid FROM pg_stat_activity \
             WHERE datname = current_database() AND query = 'LISTEN keepsake'",
        )
        .load::<Pid>(&mut c.env.conn())
        .expect("pg_stat_activity")
        .into_iter()
        .map(|p| p.pid)
        .collect()
    };
    let old = listening();
    assert_eq!(old.len(), 3, "one listening connection per node");
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN ({})",
        old.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
    ))
    .execute(&mut c.env.conn())
    .expect("terminate");
    c.wait(
        "three new listening connections",
        Duration::from_secs(30),
        || {
            let now = listening();
            now.len() == 3 && now.iter().all(|p| !old.contains(p))
        },
    );
    for addr in &nodes {
        c.wait(
            "every node listening again",
            Duration::from_secs(30),
            || metric(addr, "keepsake_db_listening") == 1,
        );
    }
    publish_heard_by_all(&c, &nodes, 1, &token, "Heard again");
}

/// Publishes a post titled `title` through node `via`: every node hears it (its count of
/// notifications rises) and shows it on its home page.
fn publish_heard_by_all(c: &Cluster, nodes: &[String], via: usize, token: &str, title: &str) {
    let heard: Vec<u64> = nodes
        .iter()
        .map(|a| metric(a, "keepsake_db_notifications_total"))
        .collect();
    let (s, body) = api_post(
        &nodes[via],
        "/api/v1/posts",
        token,
        serde_json::json!({"title": title, "body": "Announced.", "status": "published"}),
    );
    assert_eq!(s, 201, "{body}");
    for (addr, before) in nodes.iter().zip(heard) {
        c.wait(
            "the publish heard on every node",
            Duration::from_secs(10),
            || metric(addr, "keepsake_db_notifications_total") > before,
        );
        c.wait("the post on every node", Duration::from_secs(10), || {
            request(addr, "GET", "/", &[], "").2.contains(title)
        });
    }
}
