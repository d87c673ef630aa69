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

# A value matching any of these is a credential wherever it appears: the whole string is marked.
KEY_SHAPES = (
    r"gh[pousr]_[A-Za-z0-9]{36,}",  # github-pat, github-oauth, github-app-token, github-refresh-token
    r"github_pat_[A-Za-z0-9_]{22,}",  # github-fine-grained-pat
    r"gl(?:pat|dt|rt|ptt|soat|cbt|ft|imt|agent|oas)-[A-Za-z0-9_-]{20,}",  # gitlab-pat, gitlab-ptt, ...
    r"GR1348941[\w-]{20}",  # gitlab-rrt
    r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",  # aws-access-token
    # openai-api-key, anthropic-api-key (and other sk- keys); needs a digit and 20+ chars so
    # "sk-learn" and kebab words pass.
    r"(?<![A-Za-z0-9])sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}",
    r"(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}",  # stripe-access-token
    r"whsec_[A-Za-z0-9]{24,}",  # Stripe webhook signing secrets (Stripe docs)
    r"xox[abposre]-[A-Za-z0-9-]{10,}",  # slack-bot-token, slack-user-token, slack-legacy-*
    r"xapp-[0-9]-[A-Za-z0-9-]{10,}",  # slack-app-token
    r"hf_[A-Za-z0-9]{30,}",  # huggingface-access-token
    r"api_org_[A-Za-z]{34}",  # huggingface-organization-api-token
    r"npm_[A-Za-z0-9]{36}",  # npm-access-token
    r"pypi-AgE[A-Za-z0-9_-]{50,}",  # pypi-upload-token
    r"AIza[0-9A-Za-z_-]{35}",  # gcp-api-key
    r"ya29\.[0-9A-Za-z_-]{20,}",  # Google OAuth access tokens (Google docs)
    r"SG\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}",  # sendgrid-api-token
    r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}",  # shopify-access-token, -shared-secret, -custom-, -private-app-
    r"dapi[a-f0-9]{32}",  # databricks-api-token
    r"do[opr]_v1_[a-f0-9]{64}",  # digitalocean-pat, -access-token, -refresh-token
    r"AGE-SECRET-KEY-1[0-9A-Z]{50,}",  # age-secret-key
    r"-----BEGIN[A-Z0-9 _-]*PRIVATE KEY",  # private-key (RSA, EC, OPENSSH, PGP, ...)
    r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",  # jwt (signed or not)
    r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{8,}",  # slack-webhook-url
    r"discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_-]{20,}",  # Discord webhooks
    r"hv[sb]\.[\w-]{24,}",  # vault-service-token, vault-batch-token
    r"ATATT3[A-Za-z0-9_=-]{30,}",  # atlassian-api-token
    r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}",  # grafana-service-account-token
    r"glc_[A-Za-z0-9+/]{32,}",  # grafana-cloud-api-token
    r"eyJrIjoi[A-Za-z0-9]{40,}",  # grafana-api-key
    r"sntry[su]_[A-Za-z0-9+/=_]{40,}",  # sentry-org-token, sentry-user-token
    # doppler-api-token is dp.pt.; Doppler's docs list the other kinds (st service, sa service
    # account, ct CLI, scim, audit).
    r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{20,}",
    r"PMAK-[A-Fa-f0-9]{24}-[A-Fa-f0-9]{34}",  # postman-api-token
    r"(?<![A-Za-z0-9])SK[0-9a-fA-F]{32}(?![A-Za-z0-9])",  # twilio-api-key
    r"lin_api_[A-Za-z0-9]{40}",  # linear-api-key
    r"ntn_[A-Za-z0-9]{40,}",  # notion-api-token (ntn_ + 11 digits + 35; looser: any 40+)
    r"(?i:[a-z0-9]{14}\.atlasv1\.[a-z0-9_=-]{60,})",  # hashicorp-tf-api-token
    r"pscale_(?:tkn|oauth|pw)_[\w=.-]{32,}",  # planetscale-api-token, -oauth-token, -password
    r"pnu_[A-Za-z0-9]{36}",  # prefect-api-token
    r"pul-[a-f0-9]{40}",  # pulumi-api-token
    r"rubygems_[a-f0-9]{48}",  # rubygems-api-token
    r"pplx-[A-Za-z0-9]{48}",  # perplexity-api-key
    r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}",  # dynatrace-api-token
    r"sha256~[\w-]{43}",  # openshift-user-token
)
# Credentials in HTTP headers: shapes of text, not of a key (code building a header matches too),
# so they mark values but do not make a file look secret.
HEADER_SHAPES = (
    r"(?i:(?<![\w-])(?:proxy-)?authorization[\"']?\s*[:=]\s*\S)",  # an HTTP Authorization header
    r"(?i:\bauthorization\s+(?:basic|bearer|token|digest)\s+\S)",  # the same without the colon
    r"(?i:\bbearer\s+)(?=[A-Za-z0-9._~+/-]*[0-9])[A-Za-z0-9._~+/-]{16,}",  # curl-auth-header
    # curl-auth-header's Basic branch: base64 that has a digit or +/= (prose "basic tokenization" passes)
    r"(?i:\bbasic\s+)(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{12,}={0,2}",
    r"(?i:\btoken\s+[0-9a-f]{40}\b)",  # a 40-hex GitHub token in `Authorization: token <hex>` style
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
