"""outagewatch.live"""
