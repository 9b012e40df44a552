//! Image references: `busybox`, `alpine:3.20`, `localhost:5000/x/y:tag`,
//! `ghcr.io/org/img@sha256:…` — parsed and normalised the way docker does.
//! (Being written.)
