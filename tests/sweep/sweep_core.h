/* mmkit_core.h rows of the API sweep (tests/test_api_sweep.c): the provider wrappers and the
 * lock-hook validator take a pointer that may be NULL or zeroed. */
static mmkit_status sweep_core_provider_alloc(void *p) {
    mmkit_paddr pa = 0;
    return mmkit_provider_alloc((const mmkit_provider *)p, 0, 0, &pa);
}
static mmkit_status sweep_core_provider_free(void *p) {
    return mmkit_provider_free((const mmkit_provider *)p, 0x1000, 0);
}
static mmkit_status sweep_core_provider_virt(void *p) {
    return mmkit_provider_virt((const mmkit_provider *)p, 0x1000) ? MMKIT_OK : MMKIT_EINVAL;
}
/* a zeroed hook set is valid (no lock); NULL is not */
static mmkit_status sweep_core_lock_hooks_null(void *p) {
    if (p) return MMKIT_EINVAL; /* only the NULL form is asked for below */
    return mmkit_lock_hooks_valid(NULL) ? MMKIT_OK : MMKIT_EINVAL;
}
static mmkit_status sweep_core_lock_hooks_zeroed(void *p) {
    if (!p) return MMKIT_OK;
    return mmkit_lock_hooks_valid((const mmkit_lock_hooks *)p) ? MMKIT_OK : MMKIT_EINVAL;
}

static const sweep_case sweep_core[] = {
    {"mmkit_provider_alloc", sizeof(mmkit_provider), sweep_core_provider_alloc, MMKIT_EINVAL, NULL},
    {"mmkit_provider_free", sizeof(mmkit_provider), sweep_core_provider_free, MMKIT_EINVAL, NULL},
    {"mmkit_provider_virt", sizeof(mmkit_provider), sweep_core_provider_virt, MMKIT_EINVAL, NULL},
    {"mmkit_lock_hooks_valid", sizeof(mmkit_lock_hooks), sweep_core_lock_hooks_null, MMKIT_EINVAL, NULL},
    {"mmkit_lock_hooks_valid", sizeof(mmkit_lock_hooks), sweep_core_lock_hooks_zeroed, MMKIT_OK, NULL},
};
