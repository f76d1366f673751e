// Package sso is the Enterprise Single Sign-On database of a biztier group
// (BizTalk's SSODB): affiliate applications, credential mappings, config
// store applications (the adapters' protected settings), tickets, and the
// master secret that seals them, failing closed.
//
// # Master secret
//
// A 256-bit master secret is generated when the SSO system is created. It
// never enters the SSO store or the group log: a [KeyProvider] keeps it
// (the master secret server). The default provider, [KeyFile], is one
// file of mode 0600 beside the group directory, itself sealed with
// AES-256-GCM under a key-encryption key from a [KEKSource]. The store
// keeps only a key-check value (an HMAC under the secret), so backups,
// shipped logs and the passive node carry ciphertext only.
//
// Every record (a mapping's credentials, a config store property bag) is
// sealed with AES-256-GCM under the secret, with a fresh nonce and with
// the record's key and the secret's generation as additional data: a
// record copied under another key, or onto another secret, fails to open.
// Nothing that fails to authenticate is ever returned; it is
// [ErrCorruption].
//
// Opening fails closed: [ErrNoSecret] with no secret (a missing key file;
// a restored or shipped group before [RestoreSecret]), [ErrWrongSecret]
// with another one, [ErrKeyFile] for a key file that is truncated,
// tampered with or sealed under another KEK.
//
// # Regenerate, backup, the pair
//
// [Store.Regenerate] re-encrypts every record with a new secret, keeping
// both until the pass completes; each record names the generation that
// sealed it, so a crash at any step leaves every record readable, and a
// second call finishes the pass. The new secret is committed to the store
// sealed under the old one (the link), so a node that holds the old secret
// — the passive of a pair, a DR copy, an old secret backup — learns the
// new one through the log. [Store.BackupSecret] and [RestoreSecret] are
// ssoconfig's -backupSecret and -restoreSecret: argon2id and AES-256-GCM,
// with a password reminder in clear; a restore is checked against the
// store's key-check value. [CheckSecret] says whether a node can open the
// store with the secret it holds: a passive calls it before promotion.
// After a regenerate the store also keeps the previous secret sealed under
// the current one (the back link), so a record sealed just before the pass
// ended by a transaction that committed just after still opens; the next
// regenerate re-encrypts it. The key provider holds only the current
// secret.
//
// A Store caches the secret. It rereads the provider every
// [Options.PollInterval] (30 s, as BizTalk's SSO servers poll the master
// secret server) and at once when it meets a record sealed with a
// generation it does not hold. While the provider cannot be reached,
// lookups keep working from the cache and writes that seal new secrets
// fail with [ErrSecretServerUnavailable].
//
// # Applications, mappings, config store
//
// An [Application] has BizTalk's types ([Individual], [Group],
// [HostGroup], [ConfigStore]), fields (masked or not, in order), flags
// and enabled state; its name, type, fields and [FlagAdminAccountSame]
// cannot change after creation ([ErrImmutable]). A [Mapping] links a
// Windows user or group to external credentials; a group application
// tries its user accounts in order. [Store.GetCredentials] is the
// Windows-initiated lookup, [Store.GetHostCredentials] the host-initiated
// one. [Store.SetConfigInfo], [Store.GetConfigInfo] and
// [Store.DeleteConfigInfo] are ISSOConfigStore's calls;
// [Store.SetConfigInfoTx] writes into a group transaction the caller
// commits, so a secret commits with the configuration change it belongs
// to.
//
// # Access and audit
//
// Every call takes the caller's [Identity] from its context
// ([WithIdentity]) and checks its [Role]: SSO administrator, affiliate
// administrator, application administrator, application user. Every
// access, granted or refused, writes an [AuditRecord] to the store —
// in the same commit as the change it audits — and an access whose audit
// record cannot be written is refused ([ErrAudit]). No secret reaches an
// error, an audit record, a log line or fmt output: [Secret],
// [Credentials] and [ConfigInfo] print redacted.
//
// # The group
//
// A Store works on a [Database]: the group's SSO database, read through
// Pebble and written through transactions on the group log, so SSO
// writes take part in backup, restore, log shipping and replication like
// every other database. biztier.Group.SSO opens one.
package sso
