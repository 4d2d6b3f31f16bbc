/*
 * acl: users, roles and password checks (see acl.h).
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "log.h"
#include "server.h"
#include "util.h"

/* Failed authentications are logged at most this often. */
#define ACL_LOG_INTERVAL_MS 1000

static atomic_uint acl_gen;

static struct log_limit acl_log = LOG_LIMIT_INIT(ACL_LOG_INTERVAL_MS);

static void sha256(const char *p, size_t len, unsigned char out[CONFIG_SHA256_LEN])
{
    /* It fails only without memory: the out-of-memory rule, abort. */
    if (EVP_Digest(p, len, out, NULL, EVP_sha256(), NULL) != 1) {
        log_warn("SHA-256 failed in libcrypto: out of memory?");
        abort();
    }
}

static bool is_default(const char *user, size_t ulen)
{
    return user == NULL || (ulen == strlen(ACL_DEFAULT_USER) && memcmp(user, ACL_DEFAULT_USER, ulen) == 0);
}

enum acl_auth acl_authenticate(const char *user, size_t ulen, const char *pass, size_t plen, struct acl_id *id)
{
    unsigned char given[CONFIG_SHA256_LEN], want[CONFIG_SHA256_LEN];
    enum acl_auth result = ACL_AUTH_WRONGPASS;
    int role = CONFIG_ROLE_ADMIN;
    unsigned gen;

    sha256(pass, plen, given);
    /* An unknown user is compared with this, so it costs what a known one does. */
    memset(want, 0xff, sizeof(want));
    pthread_mutex_lock(&server.reload_lock);
    /* Read with the users it is checked against: a reload that follows
     * moves the generation on, and the next command takes its changes. */
    gen = atomic_load(&acl_gen);
    if (is_default(user, ulen)) {
        if (server.cfg.requirepass[0] == '\0') {
            /* As Redis: default has no password, so "AUTH default x"
             * succeeds; a bare "AUTH x" is most likely a mistake. */
            result = user != NULL ? ACL_AUTH_OK : ACL_AUTH_NOPASS;
        } else {
            sha256(server.cfg.requirepass, strlen(server.cfg.requirepass), want);
            if (CRYPTO_memcmp(given, want, sizeof(want)) == 0)
                result = ACL_AUTH_OK;
        }
    } else {
        const struct config_user *u = config_user_find(&server.cfg, user, ulen);
        if (u != NULL) {
            memcpy(want, u->password_sha256, sizeof(want));
            role = u->role;
        }
        if (CRYPTO_memcmp(given, want, sizeof(want)) == 0 && u != NULL)
            result = ACL_AUTH_OK;
    }
    pthread_mutex_unlock(&server.reload_lock);
    OPENSSL_cleanse(given, sizeof(given));
    OPENSSL_cleanse(want, sizeof(want));
    if (result == ACL_AUTH_OK) {
        memset(id, 0, sizeof(*id));
        if (!is_default(user, ulen))
            memcpy(id->user, user, ulen);       /* ulen fits: the user exists */
        id->role = role;
        id->gen = gen;
    }
    return result;
}

bool acl_is_admin(const struct acl_id *id)
{
    return id->user[0] == '\0' || id->role == CONFIG_ROLE_ADMIN;
}

const char *acl_user_name(const struct acl_id *id)
{
    return id->user[0] ? id->user : ACL_DEFAULT_USER;
}

bool acl_stale(const struct acl_id *id)
{
    return id->user[0] != '\0' && id->gen != atomic_load_explicit(&acl_gen, memory_order_relaxed);
}

bool acl_refresh(struct acl_id *id)
{
    bool found = false;

    if (id->user[0] == '\0')
        return true;
    pthread_mutex_lock(&server.reload_lock);
    id->gen = atomic_load(&acl_gen);
    const struct config_user *u = config_user_find(&server.cfg, id->user, strlen(id->user));
    if (u != NULL) {
        id->role = u->role;
        found = true;
    }
    pthread_mutex_unlock(&server.reload_lock);
    return found;
}

void acl_users_reloaded(void)
{
    atomic_fetch_add(&acl_gen, 1);
}

void acl_log_failure(const char *door, const char *addr, const char *user, size_t ulen)
{
    char who[CONFIG_USER_NAME_MAX + 32];
    uint64_t left_out;

    if (!log_limit_pass(&acl_log, &left_out))
        return;
    if (is_default(user, ulen)) {
        snprintf(who, sizeof(who), "user %s", ACL_DEFAULT_USER);
    } else {
        pthread_mutex_lock(&server.reload_lock);
        const struct config_user *u = config_user_find(&server.cfg, user, ulen);
        if (u != NULL)
            snprintf(who, sizeof(who), "user %s", u->name);
        else
            snprintf(who, sizeof(who), "an unknown user");
        pthread_mutex_unlock(&server.reload_lock);
    }
    if (left_out > 0)
        log_notice("%s client %s: authentication failed for %s (and %" PRIu64 " failed authentications "
                   "not logged since the last such line)", door, addr, who, left_out);
    else
        log_notice("%s client %s: authentication failed for %s", door, addr, who);
}
