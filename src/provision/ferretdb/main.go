// Command ferretdb-embedded runs FerretDB v1.24 (MongoDB wire protocol over SQLite) as a
// single process for development and CI machines that have no mongod binary.
//
// Usage: ferretdb-embedded -listen 127.0.0.1:27017 -dir /abs/path/to/data
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
		sqliteURL = "file:" + filepath.ToSlash(abs) + "/"
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-embedded: %v\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Fprintf(os.Stderr, "ferretdb-embedded: listening on %s (sqlite %s)\n", *listen, sqliteURL)
	if err := f.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "ferretdb-embedded: %v\n", err)
		os.Exit(1)
	}
}
