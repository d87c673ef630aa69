"""The data redact.py matches with: token shapes and the programs whose short flags carry secrets.

Plain tables, no logic and no imports, so the rules can be read (and reviewed against their
sources) in one place. Sources:

- Token shapes follow the gitleaks default rule set (github.com/gitleaks/gitleaks,
  config/gitleaks.toml, read 2026-12); each line names the gitleaks rule id. Lengths are the
  rule's lower bound or looser: a redactor errs towards marking, a scanner towards silence.
- Program flags follow each program's manual page (mysql(1), sshpass(1), docker-login(1),
  redis-cli, mongosh, ldapsearch(1), smbclient(1), openssl-enc(1) / openssl-passphrase-options(1),
  ssh-keygen(1), `az login --help`, sqlcmd).
"""

from __future__ import annotations

# A shape is (before, anchors, after, any_case): a match is `before`, one of the anchors typed out in
# full, then `after`. So every match holds an anchor, and redact.py runs only the shapes whose anchor
# a string holds (compiling all of them would cost ~2 ms of every record). An any_case shape's anchors
# are lowercase and match in any case; its before and after carry their own (?i:...) where it matters.
# A value matching any key shape is a credential wherever it appears: the whole string is marked.
KEY_SHAPES = (
    # github-pat, github-oauth, github-app-token, github-refresh-token
    ("", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"[A-Za-z0-9]{36,}", False),
    ("", ("github_pat_",), r"[A-Za-z0-9_]{22,}", False),  # github-fine-grained-pat
    ("", ("glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glcbt-", "glft-", "glimt-", "glagent-", "gloas-"),
     r"[A-Za-z0-9_-]{20,}", False),  # gitlab-pat, gitlab-ptt, ...
    ("", ("GR1348941",), r"[\w-]{20}", False),  # gitlab-rrt
    ("", ("A3T",), r"[A-Z0-9][A-Z0-9]{16}", False),  # aws-access-token
    ("", ("AKIA", "ASIA", "ABIA", "ACCA"), r"[A-Z0-9]{16}", False),  # aws-access-token
    # openai-api-key, anthropic-api-key (and other sk- keys); needs a digit and 20+ chars so
    # "sk-learn" and kebab words pass.
    (r"(?<![A-Za-z0-9])", ("sk-",), r"(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}", False),
    ("", ("sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"), r"[A-Za-z0-9]{10,}",
     False),  # stripe-access-token
    ("", ("whsec_",), r"[A-Za-z0-9]{24,}", False),  # Stripe webhook signing secrets (Stripe docs)
    ("", ("xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe-"), r"[A-Za-z0-9-]{10,}",
     False),  # slack-bot-token, slack-user-token, slack-legacy-*
    ("", ("xapp-",), r"[0-9]-[A-Za-z0-9-]{10,}", False),  # slack-app-token
    ("", ("hf_",), r"[A-Za-z0-9]{30,}", False),  # huggingface-access-token
    ("", ("api_org_",), r"[A-Za-z]{34}", False),  # huggingface-organization-api-token
    ("", ("npm_",), r"[A-Za-z0-9]{36}", False),  # npm-access-token
    ("", ("pypi-AgE",), r"[A-Za-z0-9_-]{50,}", False),  # pypi-upload-token
    ("", ("AIza",), r"[0-9A-Za-z_-]{35}", False),  # gcp-api-key
    ("", ("ya29.",), r"[0-9A-Za-z_-]{20,}", False),  # Google OAuth access tokens (Google docs)
    ("", ("SG.",), r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}", False),  # sendgrid-api-token
    ("", ("shpat_", "shpss_", "shpca_", "shppa_"), r"[a-fA-F0-9]{32}",
     False),  # shopify-access-token, -shared-secret, -custom-, -private-app-
    ("", ("dapi",), r"[a-f0-9]{32}", False),  # databricks-api-token
    ("", ("doo_v1_", "dop_v1_", "dor_v1_"), r"[a-f0-9]{64}", False),  # digitalocean-pat, -access-token, -refresh-token
    ("", ("AGE-SECRET-KEY-1",), r"[0-9A-Z]{50,}", False),  # age-secret-key
    ("", ("-----BEGIN",), r"[A-Z0-9 _-]*PRIVATE KEY", False),  # private-key (RSA, EC, OPENSSH, PGP, ...)
    ("", ("eyJ",), r"[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", False),  # jwt (signed or not)
    ("", ("hooks.slack.com/",), r"(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{8,}", False),  # slack-webhook-url
    ("", ("discord",), r"(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_-]{20,}", False),  # Discord webhooks
    ("", ("hvs.", "hvb."), r"[\w-]{24,}", False),  # vault-service-token, vault-batch-token
    ("", ("ATATT3",), r"[A-Za-z0-9_=-]{30,}", False),  # atlassian-api-token
    ("", ("glsa_",), r"[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}", False),  # grafana-service-account-token
    ("", ("glc_",), r"[A-Za-z0-9+/]{32,}", False),  # grafana-cloud-api-token
    ("", ("eyJrIjoi",), r"[A-Za-z0-9]{40,}", False),  # grafana-api-key
    ("", ("sntrys_", "sntryu_"), r"[A-Za-z0-9+/=_]{40,}", False),  # sentry-org-token, sentry-user-token
    # doppler-api-token is dp.pt.; Doppler's docs list the other kinds (st service, sa service
    # account, ct CLI, scim, audit).
    ("", ("dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."), r"[A-Za-z0-9]{20,}", False),
    ("", ("PMAK-",), r"[A-Fa-f0-9]{24}-[A-Fa-f0-9]{34}", False),  # postman-api-token
    (r"(?<![A-Za-z0-9])", ("SK",), r"[0-9a-fA-F]{32}(?![A-Za-z0-9])", False),  # twilio-api-key
    ("", ("lin_api_",), r"[A-Za-z0-9]{40}", False),  # linear-api-key
    ("", ("ntn_",), r"[A-Za-z0-9]{40,}", False),  # notion-api-token (ntn_ + 11 digits + 35; looser: any 40+)
    (r"(?i:[a-z0-9]{14}\.)", ("atlasv1",), r"(?i:\.[a-z0-9_=-]{60,})", True),  # hashicorp-tf-api-token
    ("", ("pscale_tkn_", "pscale_oauth_", "pscale_pw_"), r"[\w=.-]{32,}",
     False),  # planetscale-api-token, -oauth-token, -password
    ("", ("pnu_",), r"[A-Za-z0-9]{36}", False),  # prefect-api-token
    ("", ("pul-",), r"[a-f0-9]{40}", False),  # pulumi-api-token
    ("", ("rubygems_",), r"[a-f0-9]{48}", False),  # rubygems-api-token
    ("", ("pplx-",), r"[A-Za-z0-9]{48}", False),  # perplexity-api-key
    ("", ("dt0c01.",), r"[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}", False),  # dynatrace-api-token
    ("", ("sha256~",), r"[\w-]{43}", False),  # openshift-user-token
)
# Credentials in HTTP headers: shapes of text, not of a key (code building a header matches too),
# so they mark values but do not make a file look secret.
HEADER_SHAPES = (
    (r"(?<![\w-])(?i:proxy-)?", ("authorization",), r"[\"']?\s*[:=]\s*\S", True),  # an HTTP Authorization header
    (r"\b", ("authorization",), r"(?i:\s+(?:basic|bearer|token|digest)\s+\S)", True),  # the same without the colon
    (r"\b", ("bearer",), r"\s+(?=[A-Za-z0-9._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}", True),  # curl-auth-header
    # curl-auth-header's Basic branch: base64 that has a digit or +/= (prose "basic tokenization" passes)
    (r"\b", ("basic",), r"\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{12,}={0,2}", True),
    (r"\b", ("token",), r"(?i:\s+[0-9a-f]{40}\b)", True),  # a 40-hex GitHub token in `Authorization: token <hex>` style
)
TOKEN_SHAPES = KEY_SHAPES + HEADER_SHAPES

# Shells whose `-c SCRIPT` argument is itself a command line: the argv rules apply inside it.
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "busybox"})

# program -> (short flags whose value is a secret (attached `-pX` or the next argument),
#             subcommand that must appear first, or "" for any).
# `docker run -p 8080:80` is a port, so docker's -p counts only after `login`.
_MYSQL = ("p", "")
SECRET_SHORT_FLAGS: dict[str, tuple[str, str]] = {
    "mysql": _MYSQL, "mysqldump": _MYSQL, "mysqladmin": _MYSQL, "mysqlimport": _MYSQL,
    "mysqlshow": _MYSQL, "mysqlcheck": _MYSQL, "mysqlpump": _MYSQL, "mariadb": _MYSQL,
    "mariadb-dump": _MYSQL, "mariadb-admin": _MYSQL,
    "sshpass": ("p", ""),
    "docker": ("p", "login"), "podman": ("p", "login"), "nerdctl": ("p", "login"),
    "buildah": ("p", "login"), "skopeo": ("p", "login"), "helm": ("p", "login"),
    "oras": ("p", "login"),
    "redis-cli": ("a", ""), "valkey-cli": ("a", ""),
    "mongo": ("p", ""), "mongosh": ("p", ""), "mongodump": ("p", ""), "mongorestore": ("p", ""),
    "mongoexport": ("p", ""), "mongoimport": ("p", ""),
    "ldapsearch": ("w", ""), "ldapadd": ("w", ""), "ldapmodify": ("w", ""), "ldapdelete": ("w", ""),
    "ldapwhoami": ("w", ""), "ldappasswd": ("ws", ""), "ldapcompare": ("w", ""),
    "openssl": ("k", ""),
    "ssh-keygen": ("NP", ""),
    "az": ("p", "login"),
    "sqlcmd": ("P", ""), "bcp": ("P", ""), "isql": ("P", ""),
}
# Single-dash long options of openssl that take a passphrase ("pass:X", "env:VAR", "file:PATH").
OPENSSL_PASS_OPTIONS = frozenset({"pass", "passin", "passout"})
# `-U user%password` (Samba): the password follows the %.
SAMBA = frozenset({"smbclient", "rpcclient", "smbcacls", "smbget", "smbmap", "net", "smbcquotas"})
SAMBA_USER_FLAGS = frozenset({"-U", "--user"})
# curl's user:password options (curl-auth-user); also used inside strings like CURL_OPTS.
CURL = frozenset({"curl", "curl.exe", "wget"})
CURL_USER = frozenset({"u", "user", "U", "proxy-user", "http-user", "ftp-user"})
# Every program named above: a word that names one starts reading its flags (`env X=1 mysql -pY`).
PROGRAMS = frozenset(SECRET_SHORT_FLAGS) | SAMBA | CURL | SHELLS

# Untracked files git prov would put into a run's snapshot but keeps out (named by size and digest
# instead): names that by convention hold credentials (fnmatch on the file's own name, any case;
# the sources are GitHub's gitignore templates and ssh(1)/netrc(5)/pgpass/npmrc/pypirc docs) ...
SECRET_FILE_NAMES = (
    ".env", ".env.*", "*.env", ".envrc", ".netrc", "_netrc", ".pgpass", ".npmrc", ".pypirc",
    ".git-credentials", ".htpasswd", ".dockercfg", "credentials", "credentials.*", "*credentials*.json",
    "secret", "secret.*", "secrets", "secrets.*", "*.secret", "*.secrets",
    "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk",
    "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.kdbx", "*.ppk", "*.gpg", "*.asc",
    "*.tfvars", "*.tfstate", "service-account*.json", "client_secret*.json", "kubeconfig",
)
# ... and files whose contents match one of KEY_SHAPES (private key blocks included).
