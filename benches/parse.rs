//! Parser throughput per format, against a baseline measured in the same run: splitting the same bytes
//! into lines with memchr (the floor any parser pays). Compare each format's time with `split_lines`.
//!
//! `cargo bench --bench parse`

use std::sync::Arc;

use divan::{Bencher, black_box};
use gatewatch::format::{Format, ParseOptions, Parser, writers};
use gatewatch::generate::{GenConfig, Generator};

const LINES: u64 = 20_000;

fn corpus(writer: gatewatch::synth::LineWriter) -> Vec<u8> {
    let mut g = Generator::new(GenConfig { requests: LINES, incident: true, ..Default::default() });
    let mut out = Vec::new();
    while let Some(r) = g.next_request() {
        writer(&r, &mut out);
        out.push(b'\n');
    }
    out
}

fn run(bencher: Bencher, writer_name: &str, format: &str) {
    let writer = writers::gateway(writer_name).or_else(|| writers::upstream(writer_name)).unwrap();
    let data = corpus(writer);
    let parser = Parser::new(Format::from_name(format).unwrap(), Arc::new(ParseOptions::default()));
    bencher.counter(divan::counter::BytesCount::new(data.len())).bench(|| {
        let mut parsed = 0u32;
        gatewatch::scan::for_each_line(black_box(&data), |_, l| parsed += parser.parse(l).is_some() as u32);
        assert_eq!(parsed as u64, LINES);
    });
}

/// The baseline: find every line, parse nothing.
#[divan::bench]
fn split_lines(bencher: Bencher) {
    let data = corpus(writers::gateway("nginx").unwrap());
    bencher.counter(divan::counter::BytesCount::new(data.len())).bench(|| {
        let mut n = 0u32;
        gatewatch::scan::for_each_line(black_box(&data), |_, l| n += l.len() as u32 & 1);
        n
    });
}

#[divan::bench(args = [
    ("nginx", "nginx"), ("ingress-nginx", "ingress-nginx"), ("apache", "apache"), ("envoy", "envoy"),
    ("envoy-json", "envoy-json"), ("kong", "kong"), ("aws-clf", "aws-clf"), ("aws-json", "aws-json"),
    ("traefik", "traefik"), ("haproxy", "haproxy"), ("json", "json"), ("logfmt", "logfmt"), ("plain", "plain"),
])]
fn parse(bencher: Bencher, (writer, format): (&str, &str)) {
    run(bencher, writer, format);
}

fn main() {
    divan::main();
}
