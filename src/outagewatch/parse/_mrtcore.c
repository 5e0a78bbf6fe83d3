/* Placeholder: replaced by the compiled MRT decoder. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_mrtcore", NULL, -1, NULL};
PyMODINIT_FUNC PyInit__mrtcore(void) { return PyModule_Create(&mod); }
