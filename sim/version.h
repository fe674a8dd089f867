#pragma once
#define NESTSIM_VERSION "0.1.0"
