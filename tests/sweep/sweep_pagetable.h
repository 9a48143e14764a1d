/* mmkit_pagetable.h rows of the API sweep (tests/test_api_sweep.c). TO BE FILLED (issue 10). */
static mmkit_status sweep_pagetable_none(void *p) { (void)p; return MMKIT_EINVAL; }
static const sweep_case sweep_pagetable[] = {
    {"mmkit_status_str", 1, sweep_pagetable_none, MMKIT_EINVAL, NULL},
};
