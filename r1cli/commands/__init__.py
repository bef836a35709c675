"""One module per `r1` subcommand. Each is thin: parse, call library code, render."""
