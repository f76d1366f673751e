package bench

import (
	"context"
	"fmt"
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

var _ System = (*pgSystem)(nil)

func openPostgres(ctx context.Context, _ string, cfg *Config) (System, error) {
	if cfg.PostgresDSN == "" {
		return nil, fmt.Errorf("%w: set BIZTIER_BENCH_PG to a PostgreSQL DSN to run it", ErrUnsupported)
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
