from linclass.cli import main

main()
