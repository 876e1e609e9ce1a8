// A faultline business-impact scorer written in C.
//
// score = points for the level (debug 0, info 5, warning 20, error 45, fatal 70)
//       + 15 when the transaction is a critical flow (contains "checkout",
//         "payment" or "login")
//       + 2 per in-app frame of the innermost exception (at most 10)
//       + 5 when a user is attached,
// clamped to 0..100, with one factor per term so the score explains itself.
// It takes no stage config: anything but `{}` is refused.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scorer_plugin.h"

typedef faultline_plugin_types_factor_t factor_t;

void exports_faultline_plugin_scorer_metadata(exports_faultline_plugin_scorer_plugin_metadata_t *ret) {
  scorer_plugin_string_dup(&ret->name, "c-scorer");
  scorer_plugin_string_dup(&ret->version, "0.1.0");
  scorer_plugin_string_dup(&ret->description, "points for level, critical flows, in-app frames and users, in C");
  // Level and transaction always come; of the optional parts it reads frames
  // (without their variables) and the user.
  ret->reads.is_some = true;
  ret->reads.val = FAULTLINE_PLUGIN_TYPES_EVENT_PARTS_FRAMES | FAULTLINE_PLUGIN_TYPES_EVENT_PARTS_USER;
}

static int is_empty_config(const scorer_plugin_string_t *config) {
  size_t i = 0;
  const uint8_t *p = config->ptr;
  while (i < config->len && (p[i] == ' ' || p[i] == '\n' || p[i] == '\t')) i++;
  if (i == config->len) return 1;
  if (p[i++] != '{') return 0;
  while (i < config->len && (p[i] == ' ' || p[i] == '\n' || p[i] == '\t')) i++;
  if (i == config->len || p[i++] != '}') return 0;
  while (i < config->len && (p[i] == ' ' || p[i] == '\n' || p[i] == '\t')) i++;
  return i == config->len;
}

bool exports_faultline_plugin_scorer_configure(scorer_plugin_string_t *config,
                                               exports_faultline_plugin_scorer_plugin_error_t *err) {
  int ok = is_empty_config(config);
  scorer_plugin_string_free(config);
  if (!ok) {
    err->tag = FAULTLINE_PLUGIN_TYPES_PLUGIN_ERROR_INVALID_CONFIG;
    scorer_plugin_string_dup(&err->val.invalid_config, "c-scorer takes no config; remove the stage's `config`");
    return false;
  }
  scorer_plugin_string_t message;
  scorer_plugin_string_set(&message, "c-scorer configured");
  faultline_plugin_host_log(FAULTLINE_PLUGIN_HOST_LOG_LEVEL_DEBUG, &message);
  return true;
}

// Case-sensitive search for `needle` in a WIT string (not NUL-terminated).
static int contains(const scorer_plugin_string_t *s, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; n <= s->len && i + n <= s->len; i++) {
    if (memcmp(s->ptr + i, needle, n) == 0) return 1;
  }
  return 0;
}

static double add(factor_t *f, const char *name, double points, const char *detail) {
  scorer_plugin_string_dup(&f->name, name);
  f->weight = 1.0;
  f->value = points / 100.0;
  f->contribution = points;
  scorer_plugin_string_dup(&f->detail, detail);
  return points;
}

bool exports_faultline_plugin_scorer_score(exports_faultline_plugin_scorer_event_t *event,
                                           exports_faultline_plugin_scorer_classification_t *maybe_classification,
                                           exports_faultline_plugin_scorer_impact_t *ret,
                                           exports_faultline_plugin_scorer_plugin_error_t *err) {
  static const double level_points[] = {0, 5, 20, 45, 70};
  static const char *level_names[] = {"level debug", "level info", "level warning", "level error", "level fatal"};
  factor_t *factors = calloc(4, sizeof(factor_t));
  if (factors == NULL) {
    exports_faultline_plugin_scorer_event_free(event);
    if (maybe_classification) exports_faultline_plugin_scorer_classification_free(maybe_classification);
    err->tag = FAULTLINE_PLUGIN_TYPES_PLUGIN_ERROR_INTERNAL;
    scorer_plugin_string_dup(&err->val.internal, "out of memory");
    return false;
  }
  double total = 0;
  total += add(&factors[0], "level", level_points[event->level], level_names[event->level]);

  int critical = 0;
  if (event->transaction.is_some) {
    const char *flows[] = {"checkout", "payment", "login"};
    for (size_t i = 0; i < 3; i++) critical |= contains(&event->transaction.val, flows[i]);
  }
  total += add(&factors[1], "transaction", critical ? 15 : 0,
               critical ? "a critical flow" : "not a critical flow");

  int in_app = 0;
  if (event->exceptions.len > 0) {
    faultline_plugin_types_exception_t *last = &event->exceptions.ptr[event->exceptions.len - 1];
    for (size_t i = 0; i < last->frames.len; i++) {
      if (last->frames.ptr[i].in_app.is_some && last->frames.ptr[i].in_app.val) in_app++;
    }
  }
  char detail[64];
  snprintf(detail, sizeof detail, "%d in-app frames", in_app);
  total += add(&factors[2], "code", in_app * 2 > 10 ? 10 : in_app * 2, detail);

  int has_user = event->user.is_some;
  total += add(&factors[3], "users", has_user ? 5 : 0, has_user ? "a user is affected" : "no user");

  int score = total < 0 ? 0 : total > 100 ? 100 : (int)(total + 0.5);
  ret->score = (uint8_t)score;
  ret->level = score >= 80   ? FAULTLINE_PLUGIN_TYPES_IMPACT_LEVEL_CRITICAL
               : score >= 60 ? FAULTLINE_PLUGIN_TYPES_IMPACT_LEVEL_HIGH
               : score >= 40 ? FAULTLINE_PLUGIN_TYPES_IMPACT_LEVEL_MEDIUM
               : score >= 20 ? FAULTLINE_PLUGIN_TYPES_IMPACT_LEVEL_LOW
                             : FAULTLINE_PLUGIN_TYPES_IMPACT_LEVEL_NEGLIGIBLE;
  ret->revenue_at_risk.is_some = false;
  ret->users_affected.is_some = has_user;
  ret->users_affected.val = has_user ? 1 : 0;
  ret->factors.ptr = factors;
  ret->factors.len = 4;

  exports_faultline_plugin_scorer_event_free(event);
  if (maybe_classification) exports_faultline_plugin_scorer_classification_free(maybe_classification);
  return true;
}
