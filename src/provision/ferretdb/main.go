// Command ferretdb-embedded runs FerretDB v1.24 (MongoDB wire protocol over SQLite) as a
// single process for development and CI machines that have no mongod binary.
//
// Usage: ferretdb-embedded -listen 127.0.0.1:27017 -dir /abs/path/to/data
//
//	or: ferretdb-embedded -listen 127.0.0.1:27017 -postgresql-url postgres://user@host:port/db
//
// SQLite write transactions begin IMMEDIATE (`_txlock=immediate`): a writer that finds another
// one waits on the busy timeout instead of failing at once with SQLITE_BUSY when its deferred
// read lock cannot be upgraded, which FerretDB's read-then-write updates otherwise hit under load.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "", "directory holding the SQLite databases (created if missing); empty = in memory")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	postgresqlURL := flag.String("postgresql-url", "", "use the PostgreSQL backend at this URL instead of SQLite")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-embedded: bad -log-level %q: %v\n", *logLevel, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	sqliteURL := "file:/ferretdb/?mode=memory"
	if *dir != "" {
		abs, err := filepath.Abs(*dir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "ferretdb-embedded: bad -dir %q: %v\n", *dir, err)
			os.Exit(2)
		}
		if err := os.MkdirAll(abs, 0o700); err != nil {
			fmt.Fprintf(os.Stderr, "ferretdb-embedded: cannot create %s: %v\n", abs, err)
			os.Exit(1)
		}
		sqliteURL = "file:" + filepath.ToSlash(abs) + "/?_txlock=immediate"
	}
	handler, backend := "sqlite", "sqlite "+sqliteURL
	if *postgresqlURL != "" {
		handler, backend = "postgresql", "postgresql"
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       handler,
		SQLiteURL:     sqliteURL,
		PostgreSQLURL: *postgresqlURL,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-embedded: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintf(os.Stderr, "ferretdb-embedded: listening on %s (%s)\n", *listen, backend)
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "ferretdb-embedded: %v\n", err)
		os.Exit(1)
	}
}
