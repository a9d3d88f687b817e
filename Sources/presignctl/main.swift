print("presignctl")
