/* mmkit_tlb.h rows of the API sweep (tests/test_api_sweep.c). TO BE FILLED (issue 10). */
static mmkit_status sweep_tlb_none(void *p) { (void)p; return MMKIT_EINVAL; }
static const sweep_case sweep_tlb[] = {
    {"mmkit_status_str", 1, sweep_tlb_none, MMKIT_EINVAL, NULL},
};
