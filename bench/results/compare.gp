set terminal pngcairo size 800,500
set key top left
set grid
set xlabel 'forwarded packets/s'
set output 'bench/results/compare-cpu.png'
set ylabel 'server CPU (% of one core)'
plot 'bench/results/compare-urtc.dat' using 2:3 with linespoints title 'urtc', 'bench/results/compare-janus.dat' using 2:3 with linespoints title 'janus'
set output 'bench/results/compare-loss.png'
set ylabel 'loss (%)'
plot 'bench/results/compare-urtc.dat' using 2:4 with linespoints title 'urtc', 'bench/results/compare-janus.dat' using 2:4 with linespoints title 'janus'
set output 'bench/results/compare-latency.png'
set ylabel 'transit p99 (ms)'
plot 'bench/results/compare-urtc.dat' using 2:6 with linespoints title 'urtc', 'bench/results/compare-janus.dat' using 2:6 with linespoints title 'janus'
