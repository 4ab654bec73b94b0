#include "dn-chart.h"
int main(void){return 0;}
