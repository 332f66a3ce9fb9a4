from servicetrade_spectrum.cli import main

main()
