//go:build tools

// Package tools pins Docker Compose v5.6.0 so that `go build github.com/docker/compose/v5/cmd`
// builds it from the Go module proxy: `docker compose config` checks docker-compose.yml on
// machines without the Compose plugin (src/provision/compose.ts).
package tools

import _ "github.com/docker/compose/v5/cmd"
