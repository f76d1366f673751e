// Package bench is biztier's benchmark harness: BizTalk Benchmark Wizard
// style workloads run on biztier and, in the same process and run, on the
// systems one would pick instead, on the same bytes with the same
// durability. It is a library ([Config] and [Run]) shared by the command
// cmd/biztierbench and the tests.
//
//	go run ./bench/cmd/biztierbench -scenarios messaging -duration 20s -out /tmp/bench
//
// prints a table and writes /tmp/bench/results.json and results.svg.
// Speed is never asserted by a test: `go test ./bench/...` runs every
// scenario for a few hundred messages to check the harness itself.
//
// # Scenarios
//
//   - messaging: the BBW messaging flow. Receive goroutines publish a 2 KiB
//     XML purchase order with a BizTalk-like context (MessageType and
//     ReceivePortName promoted, transport properties written); one send
//     port subscription routes it to the send host, whose consumers
//     dequeue and complete it.
//   - orchestration: the BBW simple orchestration's shape: the message is
//     routed to an activation subscription on an orchestration host, whose
//     consumer publishes one new message (a confirmation) and completes
//     the activation; a send port subscription routes the confirmation to
//     the send host, where it is completed. A system that can (a
//     [Forwarder]: biztier's PublishCompleteAndDequeue) publishes the
//     confirmations, completes the activations and takes the next batch in
//     one commit, as BizTalk's messaging engine settles a batch. No instance
//     state is persisted: the rows measure the MessageBox traffic of the
//     flow, not the host runtime's orchestration services.
//   - fanout: each message goes to [Config.Fanout] send port
//     subscriptions, each on its own host.
//   - subscriptions: [Config.Subscriptions] subscriptions (10,000) on the
//     send host, of which one matches.
//   - backlog: messaging on a queue behind [Config.Backlog] messages that
//     were published and completed first (deleted entries, tombstones in
//     the Pebble-based systems). The default is small so that a run is
//     short; -backlog 1000000 gives the full figure.
//   - large: messaging with 1 MiB bodies (biztier fragments them into
//     100 KiB chunks and compresses them with S2; the repetitive XML
//     compresses well, so biztier writes far fewer bytes than the peers,
//     which store the body as it is).
//
// # Systems
//
// Each system implements [System] (publish with routing; dequeue,
// complete, wait) and gets a fresh directory under [Config.Dir] per
// scenario:
//
//   - biztier: biztier.Open with the configured durability, the
//     MessageBox's PublishBatch (Publish for one message) and
//     CompleteAndDequeue (when entries are ready; Complete then
//     DequeueWait otherwise), with tracking on (the default, as in
//     BizTalk: tracking events commit with every MessageBox change);
//     biztier-op publishes and completes one message per commit;
//     biztier-notrack sets DisableTracking.
//   - pebble-batch and pebble-op: the practical limit. The same bytes
//     (send time, context, body) stored once per message plus one key per
//     queue entry, deleted on completion, on one Pebble DB with its own WAL
//     and Sync commits, one commit per batch or per message. Routing,
//     ready lists and reference counts live in memory and nothing else is
//     written: no delivery counts, no routing index, no format.
//   - nats: NATS JetStream (nats-server v2.15.2) embedded in the process
//     with an in-process client connection, file storage in the scenario's
//     directory and SyncAlways under Sync durability; one stream with
//     interest retention, one durable pull consumer per queue filtered on
//     its routes' subjects. Publishes wait for their acks; every delivery
//     is acked, the last of each batch with a double ack.
//   - postgres: a SKIP LOCKED queue table (COPY to insert; DELETE ...
//     RETURNING to dequeue and complete in one statement), on the server
//     BIZTIER_BENCH_PG names or, when it is empty, on a local server if
//     one answers within a second ([FindPostgres]); skipped with a note
//     otherwise. Its server's CPU is not in the CPU column. See
//     "PostgreSQL" below.
//
// # PostgreSQL
//
// The postgres system needs a server. To run one from Debian's package:
//
//	apt-get install -y postgresql
//	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
//	su postgres -c "psql -c \"ALTER USER postgres PASSWORD 'bench'\""
//	go run ./bench/cmd/biztierbench -peers postgres,pebble-batch -out /tmp/bench
//
// With BIZTIER_BENCH_PG empty, the harness tries [LocalPostgres] in order:
// postgres://postgres:bench@127.0.0.1:5432/postgres (the password set
// above), then Debian's socket, host=/var/run/postgresql user=postgres
// (which answers only a process running as the postgres user). The
// header line says which server it uses. To use another server, export
// BIZTIER_BENCH_PG with its DSN; BIZTIER_BENCH_PG=off (or
// [PostgresOff] in [Config.PostgresDSN]) leaves postgres out and stops
// the search, as the tests do.
//
// # Measurements
//
// Publishers keep at most [Config.Inflight] messages in flight (published
// and not yet dequeued at the end of their flow), so that latency is
// measured at a steady state; a system that works behind its commits
// ([Settler]) settles before a round's clock stops. A round ends when its time (or count) is
// used up and every message published has been completed; Run checks that
// completions equal publications. Rounds alternate the systems (in a
// rotated order each round) because the disk's fsync rate drifts within
// minutes; each system keeps its store open across rounds.
//
//   - msgs/s: messages through the whole flow per second of the rounds;
//     MB/s counts their bodies (10^6 bytes).
//
//   - p50, p99, p999: from the start of a message's publish call to the commit
//     that completed it at the end of its flow (for fanout, of each
//     delivery). At saturation they are mostly queueing: about Inflight
//     divided by msgs/s (Little's law). Lower -inflight to see the latency
//     of a lightly loaded system, or run open-loop. p999 is by nearest
//     rank, so with fewer than 1,000 messages it is the slowest one.
//
//   - open loop (-rate N, [Config.Rate]): the publishers offer N msgs/s in
//     all on a fixed schedule, with no in-flight window, and latency runs
//     from each message's scheduled send time, so a stall is charged to
//     every message it delays (no coordinated omission). Run a system at
//     half its closed-loop msgs/s to read its latency under load:
//
//     go run ./bench/cmd/biztierbench -systems biztier,pebble-batch -scenarios messaging -rate 10000 -duration 20s
//
//     A round still ends when every published message is through, so a
//     system that cannot keep up shows it as msgs/s below the rate and a
//     growing p50.
//
//   - CPU s per 1k msgs: the process's user and system CPU time (every
//     goroutine, embedded servers included) per 1,000 messages.
//
//   - written/msg (bytes_written_per_msg): the bytes the system caused to
//     be written to storage during its rounds, per message. For the
//     in-process systems (biztier, pebble-*, nats) it is the difference in
//     the process's write_bytes in Linux's /proc/self/io over each round:
//     bytes sent to the block layer, the fsynced log writes included,
//     counted in whole pages as they are dirtied (so a small synced append
//     counts a page), with the background compactions that run during the
//     round whichever system started them. For postgres it is the
//     server's WAL only (pg_current_wal_lsn before and after each round,
//     every session's): the table and index pages written at checkpoints
//     are not in it, so its figure is a lower bound; the table marks it
//     "(WAL)". Elsewhere than Linux it is 0, meaning not measured, and on
//     a tmpfs data directory it is 0 too.
//
//   - peak heap: the largest live heap sampled during the system's rounds,
//     of the whole process (the other open systems' idle state included).
//
//   - vs biztier: msgs/s over biztier's in the same scenario.
//
// [Config.ProfileDir] (-profile DIR) writes, for the biztier rows only, a
// CPU profile of each round and one allocation profile of all the rounds
// of each scenario and system; -cpuprofile profiles the whole run
// instead.
//
// After the table the run prints the project's targets (issue 17) whose
// rows it has, each as a ratio measured in the run and whether it is met;
// results.json keeps them under goals (see [Goals]).
//
// The BBW reference figures (messaging 300–1,400 msg/s, orchestration
// 200–520 msg/s, BizTalk Server on SQL Server with 4 to 48 cores) are
// printed beside biztier's rows. They come from other machines and another
// product: the ratios between systems measured here, in one run on one
// machine, are what matter.
package bench
