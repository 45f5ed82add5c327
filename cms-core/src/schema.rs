//! Table definitions shared by both backends. Written by hand to match `migrations/sqlite` and
//! `migrations/postgres`, which a test keeps in step (`tests/schema_parity`).

diesel::table! {
    site_state (id) {
        id -> Integer,
        content_version -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        must_change_password -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_login_at -> Nullable<Timestamp>,
        totp_secret -> Nullable<Text>,
        totp_pending_secret -> Nullable<Text>,
        totp_last_step -> Nullable<BigInt>,
        totp_enabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> BigInt,
        code_hash -> Text,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    api_rate (token_id) {
        token_id -> BigInt,
        tat -> BigInt,
    }
}

diesel::table! {
    rate_events (id) {
        id -> BigInt,
        bucket -> Text,
        key -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        name -> Text,
        token_hash -> Text,
        token_prefix -> Text,
        scopes -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    categories (id) {
        id -> BigInt,
        parent_id -> Nullable<BigInt>,
        slug -> Text,
        name -> Text,
        description -> Text,
        position -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    gallery_categories (id) {
        id -> BigInt,
        parent_id -> Nullable<BigInt>,
        slug -> Text,
        path -> Text,
        name -> Text,
        description -> Text,
        position -> Integer,
        album_count -> BigInt,
        photo_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    albums (id) {
        id -> BigInt,
        category_id -> Nullable<BigInt>,
        slug -> Text,
        title -> Text,
        description -> Text,
        credit -> Text,
        status -> Text,
        cover_photo_id -> Nullable<BigInt>,
        photo_count -> BigInt,
        position -> Integer,
        published_at -> Nullable<Timestamp>,
        last_added_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    photos (id) {
        id -> BigInt,
        album_id -> BigInt,
        position -> BigInt,
        original_filename -> Text,
        caption -> Text,
        credit -> Text,
        source -> Text,
        content_hash -> Text,
        mime -> Text,
        width -> Integer,
        height -> Integer,
        bytes -> BigInt,
        variants -> Text,
        views -> BigInt,
        created_at -> Timestamp,
        title -> Text,
        alt_text -> Text,
    }
}

diesel::table! {
    posts (id) {
        id -> BigInt,
        slug -> Text,
        title -> Text,
        kind -> Text,
        status -> Text,
        body_markdown -> Text,
        body_html -> Text,
        excerpt -> Text,
        featured_photo_id -> Nullable<BigInt>,
        author_id -> Nullable<BigInt>,
        publish_at -> Nullable<Timestamp>,
        published_at -> Nullable<Timestamp>,
        source_publication -> Nullable<Text>,
        source_author -> Nullable<Text>,
        source_url -> Nullable<Text>,
        source_date -> Nullable<Date>,
        notify_subscribers -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        first_published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    post_categories (post_id, category_id) {
        post_id -> BigInt,
        category_id -> BigInt,
    }
}

diesel::table! {
    post_tags (post_id, tag_id) {
        post_id -> BigInt,
        tag_id -> BigInt,
    }
}

diesel::table! {
    post_slug_redirects (old_slug) {
        old_slug -> Text,
        post_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    post_revisions (id) {
        id -> BigInt,
        post_id -> BigInt,
        author_id -> Nullable<BigInt>,
        title -> Text,
        body_markdown -> Text,
        excerpt -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    videos (id) {
        id -> BigInt,
        slug -> Text,
        title -> Text,
        description -> Text,
        series -> Text,
        source -> Text,
        release_date -> Nullable<Date>,
        credits -> Text,
        duration_seconds -> Nullable<Integer>,
        embed_url -> Nullable<Text>,
        file_key -> Nullable<Text>,
        file_mime -> Nullable<Text>,
        poster_key -> Nullable<Text>,
        transcript -> Text,
        transcript_format -> Text,
        status -> Text,
        published_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    subscribers (id) {
        id -> BigInt,
        email -> Text,
        status -> Text,
        confirm_token_hash -> Nullable<Text>,
        confirm_sent_at -> Nullable<Timestamp>,
        confirm_expires_at -> Nullable<Timestamp>,
        token_version -> Integer,
        source -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        unsubscribed_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    subscriber_topics (subscriber_id, topic) {
        subscriber_id -> BigInt,
        topic -> Text,
        cadence -> Text,
    }
}

diesel::table! {
    digests (id) {
        id -> BigInt,
        cadence -> Text,
        period -> Text,
        after_event -> BigInt,
        upto_event -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> BigInt,
        dedupe_key -> Text,
        kind -> Text,
        subscriber_id -> Nullable<BigInt>,
        recipient -> Text,
        item_type -> Nullable<Text>,
        item_id -> Nullable<BigInt>,
        message_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        payload -> Text,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        unique_key -> Nullable<Text>,
        status -> Text,
        run_at -> Timestamp,
        attempts -> Integer,
        max_attempts -> Integer,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        progress -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        actor -> Text,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<BigInt>,
        detail -> Text,
        ip -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    change_events (id) {
        id -> BigInt,
        kind -> Text,
        item_type -> Text,
        item_id -> BigInt,
        actor -> Text,
        payload -> Text,
        quiet -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        url -> Text,
        events -> Text,
        secret -> Text,
        description -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        cursor -> BigInt,
        failing_since -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event_id -> BigInt,
        message_id -> Text,
        item_key -> Text,
        kind -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (created_by));
diesel::joinable!(albums -> gallery_categories (category_id));
diesel::joinable!(photos -> albums (album_id));
diesel::joinable!(posts -> users (author_id));
diesel::table! {
    import_items (source, kind, source_id) {
        source -> Text,
        kind -> Text,
        source_id -> Text,
        target_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    redirects (id) {
        id -> BigInt,
        old_path -> Text,
        target_kind -> Text,
        target_id -> Nullable<BigInt>,
        target_path -> Nullable<Text>,
        source -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(posts -> photos (featured_photo_id));
diesel::joinable!(post_categories -> posts (post_id));
diesel::joinable!(post_categories -> categories (category_id));
diesel::joinable!(post_tags -> posts (post_id));
diesel::joinable!(post_tags -> tags (tag_id));
diesel::joinable!(post_slug_redirects -> posts (post_id));
diesel::joinable!(post_revisions -> posts (post_id));
diesel::joinable!(subscriber_topics -> subscribers (subscriber_id));
diesel::joinable!(email_outbox -> subscribers (subscriber_id));
diesel::joinable!(audit_log -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    import_items,
    redirects,
    site_state,
    settings,
    users,
    recovery_codes,
    sessions,
    rate_events,
    api_rate,
    api_tokens,
    categories,
    tags,
    gallery_categories,
    albums,
    photos,
    posts,
    post_categories,
    post_tags,
    post_slug_redirects,
    post_revisions,
    videos,
    subscribers,
    subscriber_topics,
    email_outbox,
    jobs,
    audit_log,
    change_events,
    webhooks,
    webhook_deliveries,
    digests,
);
