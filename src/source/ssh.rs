//! SSH sources: `ssh://[user@]host[:port]/var/log/nginx/access.log` runs the system `ssh` (so the user's keys,
//! agent and ~/.ssh/config apply) with `tail -F` on the remote side. Lines are labelled with the host.

use std::sync::Arc;

use anyhow::{Context, bail};

use super::command::CommandSpec;

/// A parsed `ssh://` source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshUrl {
    /// `user` of `user@host`, if given.
    pub user: Option<String>,
    /// The host (or an alias from ~/.ssh/config).
    pub host: String,
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

    /// Parse `ssh://[user@]host[:port]/path`.
    pub fn parse(s: &str) -> anyhow::Result<SshUrl> {
        let rest = s.strip_prefix("ssh://").with_context(|| format!("{s:?}: not an ssh:// source"))?;
        let slash = rest.find('/').with_context(|| format!("{s:?}: missing the remote path (ssh://host/var/log/…)"))?;
        let (authority, path) = rest.split_at(slash);
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h),
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.starts_with('[') => (
                h.trim_matches(['[', ']']).to_string(),
                Some(p.parse().with_context(|| format!("{s:?}: bad port {p:?}"))?),
            ),
            _ => (hostport.trim_matches(['[', ']']).to_string(), None),
        };
        if host.is_empty() || host.starts_with('-') {
            bail!("{s:?}: missing or invalid host");
        }
        if user.as_deref().is_some_and(|u| u.is_empty() || u.starts_with('-')) {
            bail!("{s:?}: invalid user");
        }
        Ok(SshUrl { user, host, port, path: path.to_string() })
    }

    /// The ssh command following the file: `ssh [-p PORT] -o BatchMode=yes [user@]host -- tail -n N -F 'path'`.
    /// `lines` is how many existing lines to start with (`None`: the whole file).
    pub fn command(&self, lines: Option<usize>) -> CommandSpec {
        let mut args = Vec::new();
        if let Some(p) = self.port {
            args.extend(["-p".to_string(), p.to_string()]);
        }
        // never stop at a password prompt: there is no terminal to answer it
        args.extend(["-o".to_string(), "BatchMode=yes".to_string()]);
        args.push(match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        });
        args.push("--".into());
        let n = lines.map_or("+1".to_string(), |n| n.to_string());
        // the remote side runs this through its shell: quote the path, keeping glob characters active
        args.push(format!("tail -n {n} -F {}", remote_quote(&self.path)));
        CommandSpec {
            program: "ssh".into(),
            display: format!("ssh {}{}", self.host, self.path),
            args,
            label: Some(Arc::from(self.host.as_str())),
        }
    }
}

/// Quote a path for a POSIX shell, leaving `*`, `?` and `[...]` unquoted so the remote shell expands them.
fn remote_quote(path: &str) -> String {
    let mut out = String::new();
    let mut quoted = String::new();
    let flush = |quoted: &mut String, out: &mut String| {
        if !quoted.is_empty() {
            out.push('\'');
            out.push_str(&quoted.replace('\'', r"'\''"));
            out.push('\'');
            quoted.clear();
        }
    };
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']') {
            flush(&mut quoted, &mut out);
            out.push(c);
        } else {
            quoted.push(c);
        }
    }
    flush(&mut quoted, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = SshUrl::parse("ssh://deploy@gw1.example.com:2222/var/log/nginx/access.log").unwrap();
        assert_eq!(u.user.as_deref(), Some("deploy"));
        assert_eq!(u.host, "gw1.example.com");
        assert_eq!(u.port, Some(2222));
        assert_eq!(u.path, "/var/log/nginx/access.log");
        let u = SshUrl::parse("ssh://gw2/var/log/x.log").unwrap();
        assert_eq!((u.user, u.port), (None, None));
        assert!(SshUrl::parse("ssh://gw2").is_err());
        assert!(SshUrl::parse("ssh://-oProxyCommand=x/var/log").is_err(), "a host cannot smuggle an option");
        assert!(SshUrl::parse("ssh://h:port/x").is_err());
    }

    #[test]
    fn builds_the_command() {
        let u = SshUrl::parse("ssh://ops@gw1:2200/var/log/it's here/*.log").unwrap();
        let c = u.command(Some(100));
        assert_eq!(c.program, "ssh");
        assert_eq!(
            c.args,
            ["-p", "2200", "-o", "BatchMode=yes", "ops@gw1", "--", r"tail -n 100 -F '/var/log/it'\''s here/'*'.log'"]
        );
        assert_eq!(c.label.as_deref(), Some("gw1"));
        assert!(u.command(None).args.last().unwrap().starts_with("tail -n +1 -F"));
    }
}
