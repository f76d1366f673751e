package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgSystem is a PostgreSQL queue table used the usual way: INSERT one row
// per routed delivery, and a consumer's DELETE ... WHERE id IN (SELECT
// ... FOR UPDATE SKIP LOCKED) RETURNING takes and completes rows in one
// statement. With Sync durability synchronous_commit is on (the server's
// default); with NoSync it is turned off per session. The server's CPU is
// not counted in the CPU column. Each run uses a table of its own,
// dropped by Close.
type pgSystem struct {
	pool   *pgxpool.Pool
	table  string
	routes map[string][]string
}

var (
	_ System       = (*pgSystem)(nil)
	_ WriteCounter = (*pgSystem)(nil)
)

// LocalPostgres are the servers FindPostgres tries, in order: the
// password set by bench/doc.go's recipe over TCP, then Debian's Unix
// socket (which answers a process running as the postgres user).
var LocalPostgres = []string{
	"postgres://postgres:bench@127.0.0.1:5432/postgres",
	"host=/var/run/postgresql user=postgres",
}

// FindPostgres returns the first of LocalPostgres whose server answers
// within a second, or "" if none does.
func FindPostgres(ctx context.Context) string {
	for _, dsn := range LocalPostgres {
		if pingPostgres(ctx, dsn) == nil {
			return dsn
		}
	}
	return ""
}

func pingPostgres(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return err
	}
	cc.ConnectTimeout = time.Second
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return err
	}
	return errors.Join(conn.Ping(ctx), conn.Close(ctx))
}

// RedactDSN returns dsn with a URL's password hidden, for printing.
func RedactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

func openPostgres(ctx context.Context, _ string, cfg *Config) (System, error) {
	switch cfg.PostgresDSN {
	case "":
		return nil, fmt.Errorf("%w: postgres: no server answered at %s; set BIZTIER_BENCH_PG to a DSN or start one (see package bench's doc)",
			ErrUnavailable, strings.Join(redactAll(LocalPostgres), " or "))
	case PostgresOff:
		return nil, fmt.Errorf("%w: postgres: turned off (BIZTIER_BENCH_PG=off)", ErrUnavailable)
	}
	pc, err := pgxpool.ParseConfig(cfg.PostgresDSN)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pc.MaxConns = int32(cfg.Publishers + 8*cfg.Consumers + 4)
	if !cfg.durable() {
		pc.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	table := fmt.Sprintf("biztierbench_%d", time.Now().UnixNano())
	return &pgSystem{pool: pool, table: table, routes: map[string][]string{}}, nil
}

func (s *pgSystem) Setup(ctx context.Context, _ []string, routes []Route) error {
	for _, r := range routes {
		s.routes[r.Match] = append(s.routes[r.Match], r.Queue)
	}
	_, err := s.pool.Exec(ctx, fmt.Sprintf(`CREATE TABLE %[1]s (
		id bigserial PRIMARY KEY,
		queue text NOT NULL,
		type text NOT NULL,
		sent bigint NOT NULL,
		context bytea NOT NULL,
		body bytea NOT NULL);
	CREATE INDEX %[1]s_queue ON %[1]s (queue, id)`, s.table))
	if err != nil {
		return fmt.Errorf("postgres: create table: %w", err)
	}
	return nil
}

func (s *pgSystem) Publish(ctx context.Context, msgs []Msg) error {
	var rows [][]any
	for _, m := range msgs {
		for _, q := range s.routes[m.Type] {
			rows = append(rows, []any{q, m.Type, m.Sent, m.Context, m.Body})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{s.table}, []string{"queue", "type", "sent", "context", "body"}, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("postgres: insert: %w", err)
	}
	return nil
}

// Next has nothing to complete: rows are deleted as they are taken.
func (s *pgSystem) Next(ctx context.Context, queue string, _ []Delivery, max int) ([]Delivery, error) {
	if max == 0 || ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rows, err := s.pool.Query(ctx, fmt.Sprintf(`DELETE FROM %[1]s WHERE id IN (
		SELECT id FROM %[1]s WHERE queue = $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING type, sent, length(body)`, s.table), queue, max)
	if err != nil {
		return nil, fmt.Errorf("postgres: take: %w", err)
	}
	var out []Delivery
	for rows.Next() {
		var d Delivery
		if err := rows.Scan(&d.Type, &d.Sent, &d.Size); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: take: %w", err)
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: take: %w", err)
	}
	return out, nil
}

// Wait polls every millisecond: a SKIP LOCKED queue has no wake-up of its
// own (LISTEN/NOTIFY would add a commit per publish).
func (s *pgSystem) Wait(ctx context.Context, queue string, max int) ([]Delivery, error) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		ds, err := s.Next(ctx, queue, nil, max)
		if err != nil || len(ds) > 0 {
			return ds, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// pgWALSource is what bytes_written_per_msg counts for postgres.
const pgWALSource = "server WAL bytes (pg_current_wal_lsn)"

// Written returns the server's WAL position in bytes. It is the server's
// whole WAL, every database's and session's, and only the WAL: the table
// and index pages written at checkpoints and by the background writer are
// not in it.
func (s *pgSystem) Written(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: wal position: %w", err)
	}
	return n, nil
}

// WrittenSource names what Written counts.
func (s *pgSystem) WrittenSource() string { return pgWALSource }

func (s *pgSystem) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.pool.Exec(ctx, "DROP TABLE IF EXISTS "+s.table)
	s.pool.Close()
	if err != nil {
		return fmt.Errorf("postgres: drop table: %w", err)
	}
	return nil
}

func redactAll(dsns []string) []string {
	out := make([]string, len(dsns))
	for i, d := range dsns {
		out[i] = RedactDSN(d)
	}
	return out
}
