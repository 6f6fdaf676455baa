//! The maintenance commands of a data directory, one function each: init,
//! tokens, users, migrate, compact, backup, restore, and the check of a
//! configuration file. Each opens the store itself and ends with it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use vergleichsring_store::{Role, Store};

use crate::cli::{
    BackupArgs, ConfigCheckArgs, CreateAdminArgs, DirArgs, InitArgs, ReferenceImportArgs,
    ResetSecondFactorArgs, RestoreArgs, TokenCreateArgs,
};
use crate::{config, runtime};

/// `init`: the layout of a data directory, and the ring's noise secret
/// (rule 14), created here once in the state log, sealed when a
/// `secrets_key` is configured.
pub fn init(args: InitArgs) -> anyhow::Result<()> {
    let InitArgs { data_dir, config } = args;
    Store::init(&data_dir)?;
    let (cfg, dir) = maintenance_config(config.as_deref(), Some(data_dir.clone()))?;
    let lake = cfg.lake_location()?;
    let key = cfg.secrets_key()?;
    if cfg.disclosure.noise_max > 0.0 {
        runtime()?.block_on(async move {
            let store = Store::open_with_lake(&dir, lake).await?;
            if let Some(key) = key {
                store.set_secrets_key(key);
            }
            store.noise_secret().await.map(|_| ())
        })?;
    }
    println!("initialised {}", data_dir.display());
    Ok(())
}

/// `reference import`: checks an extract of the municipality register
/// whole, then writes it with its year into the data directory's
/// catalogue (`catalog/reference/`), each file replaced atomically.
pub fn reference_import(args: ReferenceImportArgs) -> anyhow::Result<()> {
    use vergleichsring_catalog::register::{FILE, Register, YEAR_FILE};
    let ReferenceImportArgs {
        file,
        year,
        data_dir,
        config,
    } = args;
    if !(1990..=2100).contains(&year) {
        bail!("--year {year} must lie in 1990 to 2100");
    }
    let (_, dir) = maintenance_config(config.as_deref(), data_dir)?;
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 ({e})", file.display()))?;
    let register =
        Register::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let catalog = dir.join("catalog");
    if !catalog.join("size_classes.toml").exists() {
        bail!(
            "{} is no data directory (run `vergleichsring init` first)",
            dir.display()
        );
    }
    let write = |rel: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = catalog.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    };
    // The year first: a crash between the two leaves the old extract with
    // the new year at worst, which the next import corrects.
    write(
        YEAR_FILE,
        format!("# The year the imported municipality register describes.\nyear = {year}\n")
            .as_bytes(),
    )?;
    write(FILE, text.as_bytes())?;
    let uninhabited = register
        .municipalities()
        .filter(|m| m.population == 0)
        .count();
    println!(
        "imported {} municipalities ({uninhabited} uninhabited) of {year} into {}; restart the service to use them",
        register.len(),
        catalog.join(FILE).display()
    );
    Ok(())
}

/// `token create`: prints the new token alone on stdout.
pub fn token_create(args: TokenCreateArgs) -> anyhow::Result<()> {
    let TokenCreateArgs {
        data_dir,
        config,
        role,
        member_id,
        consultant_id,
        grants,
        label,
        expires_at,
    } = args;
    let role = Role::parse(&role).with_context(|| {
        format!("unknown role '{role}'; use admin, analyst, consultant or member")
    })?;
    let expires_at = expires_at
        .map(|e| vergleichsring_store::parse_expiry(&e))
        .transpose()
        .map_err(|m| anyhow::anyhow!("--expires-at: {m}"))?;
    let (cfg, dir) = maintenance_config(config.as_deref(), Some(data_dir))?;
    let new = vergleichsring_store::NewToken {
        role,
        member_id,
        consultant_id,
        grants,
        label,
        expires_at,
    };
    let lake = cfg.lake_location()?;
    let (token, _) =
        runtime()?.block_on(async move { Store::create_token_with(&dir, &lake, new).await })?;
    println!("{token}");
    Ok(())
}

/// `user create-admin`: invites the first admin and prints the path of the
/// invitation link.
pub fn user_create_admin(args: CreateAdminArgs) -> anyhow::Result<()> {
    let CreateAdminArgs {
        data_dir,
        config,
        email,
        name,
    } = args;
    let (cfg, dir) = maintenance_config(config.as_deref(), Some(data_dir))?;
    let lake = cfg.lake_location()?;
    let (user, code) = runtime()?.block_on(async move {
        let store = Store::open_with_lake(&dir, lake).await?;
        let admin = vergleichsring_store::NewUser {
            email,
            name,
            role: Role::Admin,
            member_id: None,
            consultant_id: None,
            lead: false,
        };
        store.invite_user("cli", admin).await
    })?;
    eprintln!(
        "invited {} ({}); open this path on the service within 7 days to set the password:",
        user.email, user.user_id
    );
    println!("/web/einladung/{code}");
    Ok(())
}

/// `user reset-second-factor`: removes an account's second factor and ends
/// its sessions.
pub fn user_reset_second_factor(args: ResetSecondFactorArgs) -> anyhow::Result<()> {
    let ResetSecondFactorArgs {
        data_dir,
        config,
        email,
    } = args;
    let (cfg, dir) = maintenance_config(config.as_deref(), Some(data_dir))?;
    let lake = cfg.lake_location()?;
    let wanted = email.trim().to_lowercase();
    runtime()?.block_on(async move {
        let store = Store::open_with_lake(&dir, lake).await?;
        let user = store
            .users()
            .into_iter()
            .find(|u| u.email == wanted && !u.disabled)
            .with_context(|| format!("no enabled account has the address {wanted}"))?;
        store.reset_second_factor("cli", &user.user_id).await?;
        eprintln!(
            "the second factor of {} ({}) is removed and its sessions ended; it enrols a new one at the next sign-in",
            user.email, user.user_id
        );
        anyhow::Ok(())
    })
}

/// `migrate`: moves a data directory of the file-based layout into the
/// lake.
pub fn migrate(args: DirArgs) -> anyhow::Result<()> {
    let (cfg, dir) = maintenance_config(args.config.as_deref(), args.data_dir)?;
    runtime()?.block_on(async move {
        let m = Store::migrate(&dir, &cfg.lake_location()?).await?;
        if m.already {
            println!("{} was migrated before; nothing to do", dir.display());
            return anyhow::Ok(());
        }
        println!(
            "migrated {}: {} members, {} tokens, {} grants, {} groups, {} explanations, {} releases, {} ledger files, {} uploads, {} access log entries",
            dir.display(),
            m.members,
            m.tokens,
            m.grants,
            m.groups,
            m.explanations,
            m.releases,
            m.ledger_objects,
            m.uploads,
            m.access_entries
        );
        println!(
            "The files (members.json, tokens.json, ...) are left as they were and no longer read; remove them once a backup is made."
        );
        anyhow::Ok(())
    })
}

/// `compact`: merges the lake's small files (Delta OPTIMIZE).
pub fn compact(args: DirArgs) -> anyhow::Result<()> {
    let (cfg, dir) = maintenance_config(args.config.as_deref(), args.data_dir)?;
    runtime()?.block_on(async move {
        let store = Store::open_with_lake(&dir, cfg.lake_location()?).await?;
        for c in store.compact().await? {
            println!(
                "{}: {} files, {} merged into {}, now version {}",
                c.domain,
                c.files_before,
                c.removed,
                c.added,
                vergleichsring_store::DataVersion::after(c.version)
            );
        }
        anyhow::Ok(())
    })
}

/// `backup`: copies the data directory and its lake.
pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let BackupArgs {
        data_dir,
        config,
        to,
    } = args;
    let (cfg, dir) = maintenance_config(config.as_deref(), data_dir)?;
    runtime()?.block_on(async move {
        let store = Store::open_with_lake(&dir, cfg.lake_location()?).await?;
        let m = store.backup(&to).await?;
        println!(
            "backed up {} to {}: {}",
            dir.display(),
            to.display(),
            serde_json::to_string(&m.versions)?
        );
        anyhow::Ok(())
    })
}

/// `restore`: a backup into a new data directory and an empty lake.
pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let RestoreArgs {
        from,
        data_dir,
        config,
    } = args;
    let (cfg, dir) = maintenance_config(config.as_deref(), data_dir)?;
    runtime()?.block_on(async move {
        let m = Store::restore(&from, &dir, &cfg.lake_location()?).await?;
        println!(
            "restored the backup of {} into {}",
            m.made_at,
            dir.display()
        );
        anyhow::Ok(())
    })
}

/// `config check`: validates a file with the environment and prints the
/// effective configuration, secrets masked.
pub fn config_check(args: ConfigCheckArgs) -> anyhow::Result<()> {
    let file = args.file;
    let r = config::Config::resolve(Some(&file), std::env::vars(), &config::Flags::default())?;
    println!("# {} is valid.", file.display());
    if r.from_env.is_empty() {
        println!("# No VERGLEICHSRING_* variable overrides it.");
    } else {
        println!(
            "# Overridden by the environment: {}.",
            r.from_env.join(", ")
        );
    }
    println!("# The effective configuration, secrets masked:\n");
    print!("{}", r.config.masked_toml()?);
    Ok(())
}

/// The configuration and data directory of a maintenance command.
pub fn maintenance_config(
    config: Option<&Path>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<(config::Config, PathBuf)> {
    let flags = config::Flags {
        data_dir,
        ..config::Flags::default()
    };
    let cfg = config::Config::resolve(config, std::env::vars(), &flags)?.config;
    let Some(dir) = cfg.data_dir.clone() else {
        bail!(
            "no data directory: give --data-dir, data_dir in the configuration or VERGLEICHSRING_DATA_DIR"
        );
    };
    Ok((cfg, dir))
}
