set terminal pngcairo size 800,500
set key top left
set grid
set xlabel 'forwarded packets/s'
set output 'bench/results/compare-audio-cpu.png'
set ylabel 'server CPU (% of one core)'
plot 'bench/results/compare-audio-urtc.dat' using 2:3 with linespoints title 'urtc', 'bench/results/compare-audio-janus.dat' using 2:3 with linespoints title 'janus'
set output 'bench/results/compare-audio-loss.png'
set ylabel 'loss (%)'
plot 'bench/results/compare-audio-urtc.dat' using 2:4 with linespoints title 'urtc', 'bench/results/compare-audio-janus.dat' using 2:4 with linespoints title 'janus'
set output 'bench/results/compare-audio-latency.png'
set ylabel 'transit p99 (ms)'
plot 'bench/results/compare-audio-urtc.dat' using 2:6 with linespoints title 'urtc', 'bench/results/compare-audio-janus.dat' using 2:6 with linespoints title 'janus'
