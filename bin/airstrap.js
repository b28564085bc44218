#!/usr/bin/env node
// The npm bin: runs the bundled CLI (`make build` writes it).
import "../build/airstrap.cjs";
