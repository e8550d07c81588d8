//! SSH sources: `ssh://[user@]host[:port]/var/log/nginx/access.log` runs the system `ssh` (so the user's keys,
//! agent and ~/.ssh/config apply) with `tail -F` on the remote side. Lines are labelled with the host.
//! `ssh://[user@]gw1,gw2,gw3[:port]/path` follows the same file on several hosts as one source: one `ssh` per host,
//! the user and port shared.

use std::sync::Arc;

use anyhow::{Context, bail};

use super::command::CommandSpec;
use super::resume::RemoteFile;

/// A parsed `ssh://` source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshUrl {
    /// `user` of `user@host`, if given.
    pub user: Option<String>,
    /// The hosts (or aliases from ~/.ssh/config): one, or several following the same file; never empty.
    pub hosts: Vec<String>,
    /// The port, if given.
    pub port: Option<u16>,
    /// The remote path (absolute; may hold a glob for the remote shell).
    pub path: String,
}

impl SshUrl {
    /// True when `s` looks like an SSH source.
    pub fn is_ssh(s: &str) -> bool {
        s.starts_with("ssh://")
    }

    /// Parse `ssh://[user@]host[:port]/path` or `ssh://[user@]host1,host2,…[:port]/path`.
    pub fn parse(s: &str) -> anyhow::Result<SshUrl> {
        let rest = s.strip_prefix("ssh://").with_context(|| format!("{s:?}: not an ssh:// source"))?;
        let slash = rest.find('/').with_context(|| format!("{s:?}: missing the remote path (ssh://host/var/log/…)"))?;
        let (authority, path) = rest.split_at(slash);
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, authority),
        };
        let (hosts, port) = match hostport.rsplit_once(':') {
            // a bracketed IPv6 address ends in `]`; a bare one has colons in it and takes no port
            Some((h, p)) if !hostport.ends_with(']') && (!h.contains(':') || h.ends_with(']')) => {
                (h, Some(p.parse().with_context(|| format!("{s:?}: bad port {p:?}"))?))
            }
            _ => (hostport, None),
        };
        let several = hosts.contains(',');
        let mut list: Vec<String> = Vec::new();
        for host in hosts.split(',') {
            let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
            if bare.is_empty() || bare.starts_with('-') || bare.contains(['[', ']', '/']) {
                bail!("{s:?}: missing or invalid host {host:?}");
            }
            if several && bare.contains(':') && bare.len() == host.len() {
                bail!("{s:?}: one port for every host, after the last one (ssh://gw1,gw2:2222/…); IPv6 in brackets");
            }
            if list.iter().any(|h| h == bare) {
                bail!("{s:?}: host {bare:?} named twice");
            }
            list.push(bare.to_string());
        }
        if user.as_deref().is_some_and(|u| u.is_empty() || u.starts_with('-') || u.contains(',')) {
            bail!("{s:?}: invalid user (one user for every host: ssh://user@gw1,gw2/…)");
        }
        Ok(SshUrl { user, hosts: list, port, path: path.to_string() })
    }

    /// One ssh command per host (see [`SshUrl::command_for`]).
    pub fn commands(&self, lines: Option<usize>) -> Vec<CommandSpec> {
        self.hosts.iter().map(|h| self.command_for(h, lines)).collect()
    }

    /// The ssh command following the file on `host`: `ssh [-p PORT] -o BatchMode=yes [user@]host -- REMOTE`, its
    /// lines labelled with the host. REMOTE, made for each run, starts with the last `lines` lines (`None`: the
    /// whole file) and, after a dropped connection, where the last run stopped (see [`super::resume`]).
    pub fn command_for(&self, host: &str, lines: Option<usize>) -> CommandSpec {
        let mut args = Vec::new();
        if let Some(p) = self.port {
            args.extend(["-p".to_string(), p.to_string()]);
        }
        // never stop at a password prompt: there is no terminal to answer it
        args.extend(["-o".to_string(), "BatchMode=yes".to_string()]);
        args.push(match &self.user {
            Some(u) => format!("{u}@{host}"),
            None => host.to_string(),
        });
        args.push("--".into());
        CommandSpec {
            program: "ssh".into(),
            display: format!("ssh {host}{}", self.path),
            args,
            label: Some(Arc::from(host)),
            remote: Some(RemoteFile { path: self.path.clone(), lines }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = SshUrl::parse("ssh://deploy@gw1.example.com:2222/var/log/nginx/access.log").unwrap();
        assert_eq!(u.user.as_deref(), Some("deploy"));
        assert_eq!(u.hosts, ["gw1.example.com"]);
        assert_eq!(u.port, Some(2222));
        assert_eq!(u.path, "/var/log/nginx/access.log");
        let u = SshUrl::parse("ssh://gw2/var/log/x.log").unwrap();
        assert_eq!((u.user, u.port), (None, None));
        assert!(SshUrl::parse("ssh://gw2").is_err());
        assert!(SshUrl::parse("ssh://-oProxyCommand=x/var/log").is_err(), "a host cannot smuggle an option");
        assert!(SshUrl::parse("ssh://h:port/x").is_err());
        let u = SshUrl::parse("ssh://[::1]:2222/x").unwrap();
        assert_eq!((u.hosts, u.port), (vec!["::1".to_string()], Some(2222)));
        let u = SshUrl::parse("ssh://[::1]/x").unwrap();
        assert_eq!((u.hosts, u.port), (vec!["::1".to_string()], None));
        assert_eq!(SshUrl::parse("ssh://fe80::1/x").unwrap().hosts, ["fe80::1"], "a bare IPv6 address takes no port");
    }

    #[test]
    fn parses_several_hosts() {
        let u = SshUrl::parse("ssh://ops@gw1,gw2.example.com,10.0.0.3:2222/var/log/nginx/access.log").unwrap();
        assert_eq!(u.user.as_deref(), Some("ops"));
        assert_eq!(u.hosts, ["gw1", "gw2.example.com", "10.0.0.3"]);
        assert_eq!(u.port, Some(2222), "the port is every host's");
        assert_eq!(u.path, "/var/log/nginx/access.log");
        let u = SshUrl::parse("ssh://gw1,gw2/x").unwrap();
        assert_eq!((u.hosts.len(), u.user, u.port), (2, None, None));
        let u = SshUrl::parse("ssh://[::1],[fe80::2]:22/x").unwrap();
        assert_eq!((u.hosts, u.port), (vec!["::1".to_string(), "fe80::2".to_string()], Some(22)));
        for bad in [
            "ssh://gw1,,gw2/x",
            "ssh://,gw1/x",
            "ssh://gw1,/x",
            "ssh://gw1,gw2,/x",
            "ssh://,/x",
            "ssh://gw1,,gw2:22/x",
            "ssh://gw1,-oProxyCommand=x/x",
            "ssh://gw1:22,gw2/x",
            "ssh://gw1,gw1/x",
            "ssh://a@gw1,b@gw2/x",
            "ssh://gw1,gw2:port/x",
            "ssh://gw1,[]/x",
        ] {
            assert!(SshUrl::parse(bad).is_err(), "{bad} is accepted");
        }
        let e = format!("{:#}", SshUrl::parse("ssh://gw1,,gw2/x").unwrap_err());
        assert!(e.contains("missing or invalid host \"\""), "{e}");
        let u = SshUrl::parse("ssh://ad@corp@gw1/x").unwrap();
        assert_eq!((u.user.as_deref(), u.hosts), (Some("ad@corp"), vec!["gw1".to_string()]), "a user may hold `@`");
    }

    #[test]
    fn builds_one_command_per_host() {
        let u = SshUrl::parse("ssh://ops@gw1,gw2:2200/var/log/a.log").unwrap();
        let cs = u.commands(Some(10));
        assert_eq!(cs.len(), 2);
        for (c, host) in cs.iter().zip(["gw1", "gw2"]) {
            assert_eq!(c.args, ["-p", "2200", "-o", "BatchMode=yes", &format!("ops@{host}"), "--"]);
            assert_eq!(c.remote, Some(RemoteFile { path: "/var/log/a.log".into(), lines: Some(10) }));
            assert_eq!(c.label.as_deref(), Some(host));
            assert_eq!(c.display, format!("ssh {host}/var/log/a.log"));
        }
    }

    #[test]
    fn builds_the_command() {
        let u = SshUrl::parse("ssh://ops@gw1:2200/var/log/it's here/*.log").unwrap();
        let c = u.command_for(&u.hosts[0], Some(100));
        assert_eq!(c.program, "ssh");
        assert_eq!(c.args, ["-p", "2200", "-o", "BatchMode=yes", "ops@gw1", "--"]);
        assert_eq!(c.remote, Some(RemoteFile { path: "/var/log/it's here/*.log".into(), lines: Some(100) }));
        assert_eq!(c.label.as_deref(), Some("gw1"));
        assert_eq!(u.commands(Some(100)), [c]);
        assert_eq!(u.commands(None)[0].remote.as_ref().unwrap().lines, None);
    }
}
