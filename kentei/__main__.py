from kentei.cli import main

main()
